"""WhatsApp Cloud API errors as exception classes, chosen by the platform's error code.

The Graph API answers an error as `{"error": {"code": ..., "message": ..., "error_data": {"details": ...}}}`;
message status webhooks carry the same codes for failures found after the send. `error_for` maps a code to the
class that says what the caller should do: slow down, send a template, give up on the recipient, fix the setup.
"""

from __future__ import annotations

from typing import Any


class WhatsAppError(Exception):
    """Any error the platform answered; `retryable` says whether the same send may work later."""

    retryable = False

    def __init__(self, code: int, message: str, details: str = "", http_status: int | None = None) -> None:
        super().__init__(f"WhatsApp error {code}: {message}" + (f" ({details})" if details else ""))
        self.code = code
        self.message = message
        self.details = details
        self.http_status = http_status


class RateLimited(WhatsAppError):
    """Slow down and retry with backoff."""

    retryable = True


class ThroughputLimited(RateLimited):
    """130429: the business number's messages per second; 80007 / 4: account or app call rate."""


class PairRateLimited(RateLimited):
    """131056: too many messages to the same user in a short time."""


class SpamRateLimited(RateLimited):
    """131048: sends restricted because too many earlier messages were blocked or reported."""


class ReEngagementRequired(WhatsAppError):
    """131047: more than 24 hours since the user's last message; only a template may be sent."""


class Undeliverable(WhatsAppError):
    """131026 (and kin): the recipient cannot receive this message (not on WhatsApp, old app, blocked us)."""


class RecipientOptedOut(WhatsAppError):
    """131050: the user stopped marketing messages from the business."""


class InvalidParameter(WhatsAppError):
    """100, 131008, 131009: the request itself is wrong (a bug here, not a user problem)."""


class TemplateError(WhatsAppError):
    """132xxx: the template is missing, paused, disabled, or its parameters do not fit."""


class TokenError(WhatsAppError):
    """190 / 0: the access token expired or is invalid; nothing can be sent until it is replaced."""


class PermissionDenied(WhatsAppError):
    """3, 10, 200-299: the app lacks a permission for this phone number."""


class AccountRestricted(WhatsAppError):
    """368, 131031, 131042, 131057: the business account is blocked, locked, unpaid or in maintenance."""


class ServerError(WhatsAppError):
    """131000, 131016, 1, 2 and HTTP 5xx: a temporary problem on Meta's side; retry with backoff."""

    retryable = True


class NetworkError(WhatsAppError):
    """The request did not reach the API or no answer came back."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(-1, message)


CODES: dict[int, type[WhatsAppError]] = {
    4: ThroughputLimited,
    80007: ThroughputLimited,
    130429: ThroughputLimited,
    131056: PairRateLimited,
    131048: SpamRateLimited,
    131047: ReEngagementRequired,
    131026: Undeliverable,
    131021: Undeliverable,  # recipient cannot be the sender
    131049: Undeliverable,  # marketing message not delivered to keep the ecosystem healthy
    131050: RecipientOptedOut,
    100: InvalidParameter,
    131008: InvalidParameter,
    131009: InvalidParameter,
    131051: InvalidParameter,  # unsupported message type
    190: TokenError,
    0: TokenError,
    3: PermissionDenied,
    10: PermissionDenied,
    368: AccountRestricted,
    131031: AccountRestricted,
    131042: AccountRestricted,
    131057: AccountRestricted,
    1: ServerError,
    2: ServerError,
    131000: ServerError,
    131016: ServerError,
}

TEMPLATE_CODES = range(132000, 133000)
PERMISSION_CODES = range(200, 300)


def error_class(code: int, http_status: int | None = None) -> type[WhatsAppError]:
    if code in CODES:
        return CODES[code]
    if code in TEMPLATE_CODES:
        return TemplateError
    if code in PERMISSION_CODES:
        return PermissionDenied
    if http_status is not None and http_status >= 500:
        return ServerError
    if http_status == 429:
        return ThroughputLimited
    return WhatsAppError


def error_for(code: int, message: str, details: str = "", http_status: int | None = None) -> WhatsAppError:
    return error_class(code, http_status)(code, message, details, http_status)


def from_response(http_status: int, body: Any) -> WhatsAppError:
    """The exception for an error answer of the Graph API (body already decoded from JSON, or anything else)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return error_for(-1, f"HTTP {http_status} without an error object", "", http_status)
    data = details if isinstance(details := error.get("error_data"), dict) else {}
    code = error.get("code")
    return error_for(
        int(code) if isinstance(code, int) else -1,
        str(error.get("message", "")),
        str(data.get("details", "")),
        http_status,
    )
