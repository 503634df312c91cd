"""Who may do what: principals (a user on a channel) and their roles.

Deny by default: a principal has the applicant role unless configured (ADMIN_IDS, SUPPORT_IDS) or granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.digits import is_digits


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"


class Role(StrEnum):
    APPLICANT = "applicant"
    SUPPORT = "support"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    channel: Channel
    user_id: str

    def __str__(self) -> str:
        return self.user_id if self.channel is Channel.TELEGRAM else f"{self.channel}:{self.user_id}"


def parse_principal(text: str) -> Principal:
    """`12345` is a Telegram user id; `whatsapp:+62812...` a WhatsApp number; `console:demo` the terminal."""
    text = text.strip()
    channel_name, sep, user_id = text.partition(":")
    if not sep:
        if not is_digits(text):
            raise ValueError(f"{text!r} is neither a Telegram user id (digits) nor channel:id")
        return Principal(Channel.TELEGRAM, text)
    try:
        channel = Channel(channel_name.lower())
    except ValueError:
        raise ValueError(f"unknown channel {channel_name!r} in {text!r}") from None
    if not user_id:
        raise ValueError(f"{text!r} has no id after the colon")
    if channel is Channel.WHATSAPP:
        user_id = user_id.lstrip("+")
        if not is_digits(user_id):
            raise ValueError(f"{text!r}: a WhatsApp id is a phone number in international form")
    return Principal(channel, user_id)
