"""Who may do what: principals (a user on a channel) and their roles.

Deny by default: a principal has the applicant role unless configured (ADMIN_IDS, SUPPORT_IDS) or granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from handlers.digits import is_digits


class Channel(StrEnum):
    """A chat platform. What a platform can do for the event at hand is on the Event (`Event.can`, set by its
    adapter); what holds for every chat kept on a platform is here, so handlers never compare channel names (design
    note 21)."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"

    @property
    def label(self) -> str:
        """The platform's name as people read it."""
        return _LABELS[self]

    @property
    def phone_ids(self) -> bool:
        """A chat's id here is the person's phone number (WhatsApp): masked when staff see it, typed with or without
        '+'."""
        return self is Channel.WHATSAPP

    @property
    def reply_window(self) -> timedelta | None:
        """How long after a person's last message the bot may write to them freely; later the outbox sends a
        template (Meta's 24 h customer-service window). None: any time."""
        return _REPLY_WINDOWS.get(self)

    @classmethod
    def named(cls, name: str) -> Channel | None:
        """The channel a stored name ('whatsapp') stands for; None for a name no channel has."""
        try:
            return cls(name.lower())
        except ValueError:
            return None


_LABELS = {Channel.TELEGRAM: "Telegram", Channel.WHATSAPP: "WhatsApp", Channel.CONSOLE: "Terminal"}
_REPLY_WINDOWS = {Channel.WHATSAPP: timedelta(hours=24)}
CHANNEL_LABELS = {channel.value: channel.label for channel in Channel}  # by stored name, for look-ups and menus


def channel_label(name: str) -> str:
    """A stored channel name as people read it ('whatsapp' -> 'WhatsApp'); an unknown name as it is."""
    channel = Channel.named(name)
    return channel.label if channel else name


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
    if channel.phone_ids:
        user_id = user_id.lstrip("+")
        if not is_digits(user_id):
            raise ValueError(f"{text!r}: a WhatsApp id is a phone number in international form")
    return Principal(channel, user_id)
