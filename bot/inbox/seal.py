"""Inbox payloads sealed at rest: an update may hold a NIK (typed at the link step), a phone number, a name.

The raw update waits in the database only until it is handled (then its payload is set to NULL), but a page once
written stays in the file's free space and in the WAL long after. So it is never written in clear: SHAKE-256 of a key
and a random nonce is the keystream (an XOF is a stream cipher), HMAC-SHA256 of the result its tag. The key is derived
from NIK_PEPPER, the server secret the NIK hashes already need, so a restarted process opens what a crashed one
sealed, and a copy of the database alone does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

NONCE = 16
TAG = 16


class Seal:
    def __init__(self, secret: str) -> None:
        root = secret.encode()
        self._key = hmac.digest(root, b"inbox payload key", "sha256")
        self._mac = hmac.digest(root, b"inbox payload tag", "sha256")

    def close(self, plain: bytes) -> str:
        nonce = os.urandom(NONCE)
        body = _xor(plain, hashlib.shake_256(self._key + nonce).digest(len(plain)))
        tag = hmac.digest(self._mac, nonce + body, "sha256")[:TAG]
        return base64.b64encode(nonce + tag + body).decode("ascii")

    def open(self, sealed: str) -> bytes | None:
        """The payload, or None when it was not sealed with this secret (NIK_PEPPER changed) or is damaged."""
        try:
            raw = base64.b64decode(sealed, validate=True)
        except ValueError:
            return None
        nonce, tag, body = raw[:NONCE], raw[NONCE:NONCE + TAG], raw[NONCE + TAG:]
        if len(nonce) < NONCE or not hmac.compare_digest(tag, hmac.digest(self._mac, nonce + body, "sha256")[:TAG]):
            return None
        return _xor(body, hashlib.shake_256(self._key + nonce).digest(len(body)))


def _xor(data: bytes, stream: bytes) -> bytes:
    if not data:
        return b""
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")
