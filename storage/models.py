"""Records that leave the storage layer. Plain frozen dataclasses: no SQL, no behaviour beyond reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class WaveResult(StrEnum):
    LOLOS = "lolos"
    TIDAK_LOLOS = "tidak_lolos"


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    phone: str
    name: str
    card_number: str | None
    balance: int | None
    balance_at: datetime | None


@dataclass(frozen=True, slots=True)
class Wave:
    number: int
    announce_at: datetime | None
    published_at: datetime | None

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True, slots=True)
class WaveStanding:
    """An account's place in one wave: the result is None until decided, and hidden until published."""

    wave: Wave
    result: WaveResult | None


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    channel: str
    external_id: str
    user_id: str | None
    locale: str
    account_id: int | None
    opted_out: bool
    blocked: bool
    video_watched_at: datetime | None
    platforms_compared_at: datetime | None
    training_chosen_at: datetime | None
    training_bought_at: datetime | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    step: str
    payload: str  # JSON owned by the handler that set the step


@dataclass(frozen=True, slots=True)
class ChatSnapshot:
    """Everything a handler usually needs about the chat that sent an update, read in one round trip."""

    chat: Chat
    conversation: Conversation | None
    account: Account | None


@dataclass(frozen=True, slots=True)
class LinkLock:
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    name: str
    position: int
    url: str
    domains: tuple[str, ...]
    texts: dict[str, dict[str, str]]  # locale -> field -> text (offer, payment)


@dataclass(frozen=True, slots=True)
class Training:
    id: str
    platform_id: str
    title: str
    category: str
    price: int
    hours: int | None
    url: str


@dataclass(frozen=True, slots=True)
class ImportCounts:
    new: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str | None
    detail: str | None
