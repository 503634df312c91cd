"""Records that leave the storage layer. Plain frozen dataclasses: no SQL, no behaviour beyond reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

DEFAULT_CHAT_LOCALE = "id"  # a new chat's language when the platform tells none we support


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
    granted_role: str | None = None  # a role an admin granted to the sender with /peran (staff only)
    # The chat's own failed verifications as stored (link_attempts key 'chat:<id>'), None if it has none; a lock
    # that has expired still shows: the reader compares with its clock, as LinkAttempts.state does.
    link_attempts: LinkLock | None = None


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


class Progress(StrEnum):
    """Guide steps a chat can complete; each is a timestamp column of `chats`."""

    VIDEO_WATCHED = "video_watched_at"
    PLATFORMS_COMPARED = "platforms_compared_at"
    TRAINING_CHOSEN = "training_chosen_at"
    TRAINING_BOUGHT = "training_bought_at"


class ImportRow(NamedTuple):
    """One validated CSV row, NIK already hashed, phone already E.164. A tuple in the staging table's column order,
    so a chunk of rows binds to one INSERT (SQLite) or streams into COPY (PostgreSQL) without copying."""

    nik_hash: bytes  # handlers.identity.hash_nik: 32 raw bytes
    phone: str
    name: str
    wave: int
    result: WaveResult | None
    card_number: str | None
    balance: int | None
    line: int = 0  # line in the source file, named in conflict messages


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


# --- the outbox, roles and staff look-ups (admin/support) -------------------------------------------------------


class BroadcastKind(StrEnum):
    NOTICE = "notice"  # one personal message (e.g. "a support agent unlinked your account")
    RESULTS = "results"  # a wave's results: every recipient gets their own result
    BROADCAST = "broadcast"  # an admin's text to an audience


class BroadcastState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class GuideGap(StrEnum):
    """A guide step not done yet, as an audience filter ("lolos but video not watched")."""

    VIDEO = "video_watched_at"
    PLATFORMS = "platforms_compared_at"
    TRAINING = "training_bought_at"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets a broadcast. Opted-out and blocked chats never do; a person linked on two channels gets it once."""

    unlinked: bool = False  # also chats never linked to an account
    wave: int | None = None  # registered in this wave
    result: WaveResult | None = None  # with this result (in a published wave only: no leak before publishing)
    channel: str | None = None
    gap: GuideGap | None = None  # this guide step not done yet

    @property
    def needs_account(self) -> bool:
        return self.wave is not None or self.result is not None or self.gap is not None


@dataclass(frozen=True, slots=True)
class NoticeButton:
    """A button under a queued notice (e.g. the rating after a ticket is closed): an action with its argument, or
    a link (`url`)."""

    label: str
    action: str = ""
    arg: str = ""
    url: str = ""


NoticeButtons = tuple[tuple[NoticeButton, ...], ...]  # rows of buttons


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    kind: BroadcastKind
    state: BroadcastState
    wave: int | None
    body: str | None
    photo: str | None
    video_url: str | None
    audience: Audience
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expanded: bool
    queued: int
    throttled: int
    buttons: NoticeButtons = ()  # a notice's buttons (their own column: design note 21)


@dataclass(frozen=True, slots=True)
class BroadcastStats:
    broadcast: Broadcast
    pending: int
    sending: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    sent_last_minute: int

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.blocked + self.cancelled


@dataclass(frozen=True, slots=True)
class AudienceCount:
    total: int
    lolos: int = 0
    tidak_lolos: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery a sender has claimed (state 'sending'), with what it needs to render and send the message."""

    id: int
    broadcast_id: int
    person: int  # the account id it was queued for (minus the chat id for an unlinked chat)
    chat: Chat
    account: Account | None  # the account the chat is linked to now
    result: WaveResult | None  # results broadcasts: the account's result in the wave
    attempts: int
    ambiguous: bool


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A message sent (or queued) to a chat, for support's look-up."""

    id: int
    kind: BroadcastKind
    broadcast_id: int
    wave: int | None
    body: str | None
    state: DeliveryState
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Grant:
    channel: str
    user_id: str
    role: str
    granted_by: str
    granted_at: datetime
    menu_synced: bool


@dataclass(frozen=True, slots=True)
class WaveSummary:
    wave: Wave
    accounts: int
    lolos: int
    tidak_lolos: int
    linked_chats: int


@dataclass(frozen=True, slots=True)
class PersonState:
    """Everything support sees about one account (or one unlinked chat): never the NIK."""

    account: Account | None
    chats: tuple[Chat, ...]
    standings: tuple[WaveStanding, ...]
    locks: tuple[tuple[str, LinkLock], ...]  # (key, lock) for 'phone:...' and 'chat:<id>' keys with failures
    deliveries: tuple[DeliveryView, ...]


# --- the hand-off to support staff: tickets and their messages (issue 8) ---------------------------------------


class TicketState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"  # the applicant to staff (posted in the ticket's topic)
    OUT = "out"  # staff to the applicant (queued in the outbox)
    NOTE = "note"  # the bot to staff (posted in the topic): media it cannot relay, the rating, a recreated topic


class PostKind(StrEnum):
    TEXT = "text"  # plain text, NIKs masked: the desk escapes it
    PHOTO = "photo"  # a platform file id, with a caption
    DOCUMENT = "document"
    NOTE = "note"  # the bot's own words for staff, already HTML
    CLOSE = "close"  # the ticket closed: its note (may be empty) is posted, then the topic is closed


class PostState(StrEnum):
    QUEUED = "queued"  # waiting for the desk to post it in the topic
    POSTED = "posted"
    FAILED = "failed"  # the group refused it for good (e.g. a file id it does not know)
    REFUSED = "refused"  # the applicant was flooding: kept, never relayed
    SENT = "sent"  # staff to applicant: handed to the outbox


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    chat_id: int
    account_id: int | None
    state: TicketState
    label: str  # how staff name it: a masked phone number (never the NIK)
    opened_at: datetime
    waiting_since: datetime | None  # the applicant's first message not answered yet
    first_reply_at: datetime | None
    assignee: str | None  # the staff member who answered first
    topic_id: int | None  # the forum topic (message_thread_id) in the support group, once created
    closed_at: datetime | None
    closed_by: str | None
    rating: int | None  # 1-5, given by the applicant after closing

    @property
    def is_open(self) -> bool:
        return self.state is TicketState.OPEN


@dataclass(frozen=True, slots=True)
class TicketMessage:
    id: int
    ticket_id: int
    at: datetime
    direction: Direction
    author: str
    kind: PostKind
    body: str
    file_id: str | None
    file_name: str | None
    file_size: int | None
    state: PostState


@dataclass(frozen=True, slots=True)
class TicketInput:
    """What an applicant sent, NIKs already masked: text, or a file by its platform id with a caption."""

    kind: PostKind
    body: str
    file_id: str | None = None
    file_name: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class Received:
    message_id: int
    refused: bool  # over the flood limit: kept, not relayed
    first_refusal: bool  # the first refusal in the window: the applicant is told (once, not per message)
    previous_at: datetime | None  # the applicant's previous relayed message, if any


@dataclass(frozen=True, slots=True)
class DeskBatch:
    """A ticket claimed by a desk worker, with its messages to post in order."""

    ticket: Ticket
    messages: tuple[TicketMessage, ...]


@dataclass(frozen=True, slots=True)
class StaffLoad:
    staff: str
    open: int  # open tickets they answered first
    closed: int  # tickets they answered first, closed since the summary's start
    rating: float | None  # average rating of those closed tickets
    ratings: int


@dataclass(frozen=True, slots=True)
class TicketSummary:
    open: int
    waiting: int  # open with an applicant message not answered yet
    oldest: tuple[Ticket, ...]  # open tickets, oldest first (a page of them)
    oldest_wait: datetime | None  # the earliest `waiting_since` of the open tickets
    queued_posts: int  # messages waiting to be posted in the support group
    staff: tuple[StaffLoad, ...]
    desk_removed_at: datetime | None  # the bot was removed from the support group then, and not added back


# --- the web server: WhatsApp statuses and tiers, metrics ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A WhatsApp status callback to keep: the furthest status of one message we sent."""

    message_id: str
    recipient: str
    status: str  # sent | delivered | read | failed | (others Meta may add)
    error_code: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class TierState:
    """The messaging-limit tier for a business-initiated message to one user."""

    allowed: bool  # the user is already counted, or there is room in the tier
    counted: int  # unique users of the rolling 24 hours
    free_at: datetime | None  # when held: the time a place in the tier frees up


@dataclass(frozen=True, slots=True)
class MetricCounts:
    link_failures: int
    active_lockouts: int
    deliveries: dict[str, int]  # outbox deliveries by state


# --- retention (issue 12): personal data kept no longer than needed (UU PDP 27/2022) -----------------------------


@dataclass(frozen=True, slots=True)
class RetentionCutoffs:
    """What is old enough to delete: closed before, recorded before, finished before these times."""

    tickets: datetime  # closed tickets, with their messages
    audit: datetime  # audit rows
    deliveries: datetime  # outbox deliveries in a final state (sent, failed, blocked, cancelled)


@dataclass(frozen=True, slots=True)
class RetentionCounts:
    tickets: int = 0
    ticket_messages: int = 0
    audit: int = 0
    deliveries: int = 0


@dataclass(frozen=True, slots=True)
class StoredFaq:
    """The FAQ an admin imported (issue 13): the file as uploaded, its digest, who and when."""

    body: str
    version: str
    entries: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class UnmatchedCount:
    """A message not understood (masked), how often over the days asked, on how many days, and when last."""

    text: str
    count: int
    days: int
    last_day: str  # 'YYYY-MM-DD' (WIB)
    locale: str


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An update stored in the inbox and not handled yet: its platform id, its sealed payload and the chat's turn
    taken for it (PostgreSQL, several processes; None elsewhere)."""

    update_id: str
    payload: str | None
    turn: int | None = None
