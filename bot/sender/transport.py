"""What the sender needs from a platform: send one message to one chat, and say what happened.

A `Transport` never raises for a platform answer: it returns an `Outcome`. The sender owns claiming, pacing
(unless the transport paces itself: `rate = None`), recording and rescheduling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from handlers.api import Reply
from handlers.roles import Channel


class OutcomeKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not now, not a failure: at `retry_at`, or after `retry_after` seconds (a 429)
    BLOCKED = "blocked"  # the user blocked the bot: mark the chat, send it nothing more
    FAILED = "failed"  # permanent (bad request, chat not found): do not try again
    TRANSIENT = "transient"  # 5xx, timeout, network: try again with backoff


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    message_id: str | None = None
    retry_after: float = 0.0  # RETRY: seconds the platform asked us to wait (429 retry_after)
    retry_at: datetime | None = None  # RETRY: a time the transport knows (e.g. a messaging tier frees up)
    throttled: bool = False  # RETRY: the platform's flood control answered (counted per broadcast)
    maybe_sent: bool = False  # TRANSIENT: a timeout after the request went out; the message may have arrived
    error: str = ""

    @classmethod
    def sent(cls, message_id: str | None) -> Outcome:
        return cls(OutcomeKind.SENT, message_id=message_id)

    @classmethod
    def flood(cls, seconds: float, error: str = "429") -> Outcome:
        return cls(OutcomeKind.RETRY, retry_after=seconds, throttled=True, error=error)

    @classmethod
    def later(cls, at: datetime, error: str) -> Outcome:
        return cls(OutcomeKind.RETRY, retry_at=at, error=error)

    @classmethod
    def blocked(cls, error: str) -> Outcome:
        return cls(OutcomeKind.BLOCKED, error=error)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(OutcomeKind.FAILED, error=error)

    @classmethod
    def transient(cls, error: str, *, maybe_sent: bool = False) -> Outcome:
        return cls(OutcomeKind.TRANSIENT, error=error, maybe_sent=maybe_sent)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to: the platform chat id, and what a transport may need to pick a format."""

    chat_id: str
    locale: str
    wave: int | None = None  # a wave's personal result (a WhatsApp template exists for it)


class Transport(Protocol):
    channel: Channel
    rate: float | None  # messages per second overall; None: the transport paces itself
    per_chat_interval: float  # seconds between two messages to one chat (Telegram: 1 s)

    async def start(self) -> None:
        """Connect (e.g. getMe); raise if the platform cannot be reached, the sender retries later."""
        ...

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome: ...

    async def set_menu(self, user_id: str, commands: list[tuple[str, str]] | None) -> bool:
        """Set (or with None reset) the command menu of a staff member's chat; True when done or not applicable."""
        ...

    async def close(self) -> None: ...
