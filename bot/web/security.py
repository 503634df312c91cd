"""Webhook authentication: Meta's X-Hub-Signature-256 and Telegram's secret token, both compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for `body`: "sha256=" + HMAC-SHA256 of the raw body with the app secret."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode())


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
