"""What a handler gets for one event: the event, the chat as stored, typed conversation state, and a reply API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.api import AnyButton, Event, EventKind, FileFetcher, Notice, Outgoing, Reply
from handlers.i18n import Translator, translator
from handlers.roles import Channel, Principal, Role
from handlers.understanding import FaqSource, ShippedFaq, Understanding
from handlers.understanding import shipped as shipped_understanding
from handlers.workhours import HandoffConfig
from storage import Storage
from storage.models import Account, Chat, ChatSnapshot

if TYPE_CHECKING:
    from handlers.admin import RecordImporter


class Step(StrEnum):
    """Where a chat is in a multi-message flow. Stored by name: renaming a member strands stored chats."""

    LINK_AWAIT_CONTACT = "link.await_contact"
    LINK_AWAIT_NIK = "link.await_nik"
    LINK_AWAIT_CODE = "link.await_code"  # WhatsApp without the sender's number: the code sent to the typed number
    ELIGIBILITY = "eligibility.question"
    SCAM_AWAIT_MESSAGE = "scam.await_message"
    TRAINING_AWAIT_KEYWORD = "training.await_keyword"
    ADMIN_AWAIT_CSV = "admin.await_csv"
    ADMIN_AWAIT_FAQ = "admin.await_faq"  # /impor_faq: the FAQ file (issue 13)
    ADMIN_AWAIT_WAVE_TIME = "admin.await_wave_time"
    BROADCAST_AWAIT_TEXT = "broadcast.await_text"
    BROADCAST_AWAIT_PHOTO = "broadcast.await_photo"
    BROADCAST_AWAIT_TIME = "broadcast.await_time"
    HANDOFF_AWAIT_QUESTION = "handoff.await_question"  # the applicant writes their question for a person (issue 8)
    # Not a flow: the last free text was not understood. A second one in a row offers a person (issue 8). Bare
    # command words still work in it (handlers/router.py treats it like no step).
    MENU_MISSED = "menu.missed"
    # Not a flow either: a page of trainings is on screen, so a typed "7" opens training 7 (issue 13).
    TRAINING_LIST = "training.list"
    # Not a flow either: linking was offered for personal data asked for ("saldo sy brp"); "hubungkan" or "ok" typed
    # instead of pressing the button links and then answers what was asked (issue 13.5).
    LINK_OFFERED = "link.offered"


# Steps that are not flows: bare command words, menu labels and free text work in them as with no step.
SOFT_STEPS = frozenset({Step.MENU_MISSED, Step.TRAINING_LIST, Step.LINK_OFFERED})


class FlowState(BaseModel):
    """The payload of a step. Typed, validated on load; a payload that no longer parses is dropped."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = None  # link: the verified phone number (E.164)
    code_hash: str | None = None  # link by typed number: keyed hash of the one-time code sent to it
    code_expires: datetime | None = None
    question: int = 0  # eligibility: index of the current question
    wave: int | None = None  # admin: the wave whose announcement time is being set
    broadcast: int | None = None  # admin: the draft broadcast being composed
    # Linking: what the person asked for before linking ("kartu", "hasil"), answered once linked (issue 13).
    pending: str | None = None
    page: str | None = None  # trainings: the query and offset of the page on screen (a TRAINING_PAGE argument)


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """Verification codes sent to typed WhatsApp numbers (issue 14.5): at most so many per chat, per number and for
    all chats together in a rolling hour; and none once the codes would take more than `tier_share` of the
    business-initiated users of the 24 h messaging tier (`tier`; None: unlimited), which announcements need."""

    per_chat: int = 3
    per_number: int = 3
    per_hour: int = 20
    tier: int | None = 250
    tier_share: float = 0.5


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    """The settings handlers need, decoupled from how `bot/` loads them."""

    nik_pepper: str
    intro_video_url: str
    admins: frozenset[Principal] = frozenset()
    support: frozenset[Principal] = frozenset()
    max_link_failures: int = 5
    link_lock_minutes: int = 60
    page_size: int = 5
    handoff: HandoffConfig = field(default_factory=HandoffConfig)  # the support desk (issue 8); off without a group
    codes: CodeLimits = field(default_factory=CodeLimits)  # WhatsApp verification codes (issue 14.5)


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """A free-text message the bot could not answer, for whoever counts them (the seam of issue 13's item 7)."""

    text: str  # masked with handlers.identity.mask_personal: no NIK, card or phone number
    locale: str
    channel: str
    at: datetime
    closest: tuple[str, ...]  # the intents offered instead, best first


@dataclass(slots=True)
class Services:
    storage: Storage
    config: HandlerConfig
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    files: dict[Channel, FileFetcher] = field(default_factory=dict)  # per channel: download a file a user sent
    importer: RecordImporter | None = None  # the registry CSV import (admin /impor), wired by bot/
    # Free text (issue 13): the understanding of the shipped language files, the FAQ's source (the shipped file;
    # an admin import can supply another), and who is told of each message not understood (already masked).
    understanding: Understanding = field(default_factory=shipped_understanding)
    faq: FaqSource = field(default_factory=ShippedFaq)
    not_understood: list[Callable[[NotUnderstood], Awaitable[None]]] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    event: Event
    services: Services
    snapshot: ChatSnapshot
    role: Role
    out: Outgoing = field(default_factory=Outgoing)
    _t: Translator | None = None

    # --- what the handler reads -------------------------------------------------------------------
    @property
    def chat(self) -> Chat:
        return self.snapshot.chat

    @property
    def account(self) -> Account | None:
        return self.snapshot.account

    @property
    def storage(self) -> Storage:
        return self.services.storage

    @property
    def config(self) -> HandlerConfig:
        return self.services.config

    @property
    def t(self) -> Translator:
        if self._t is None:
            self._t = translator(self.chat.locale)
        return self._t

    def use_locale(self, locale: str) -> None:
        self._t = translator(locale)

    def now(self) -> datetime:
        return self.services.clock()

    @property
    def step(self) -> Step | None:
        conversation = self.snapshot.conversation
        if conversation is None:
            return None
        try:
            return Step(conversation.step)
        except ValueError:
            return None  # a step from an older version: treat as no step

    @property
    def state(self) -> FlowState:
        conversation = self.snapshot.conversation
        if conversation is None:
            return FlowState()
        try:
            return FlowState.model_validate_json(conversation.payload)
        except ValidationError:
            return FlowState()

    @property
    def actor(self) -> str:
        return str(self.event.principal)

    @property
    def args(self) -> str:
        """The arguments of a typed command (`/pelatihan excel` -> 'excel'); empty for a button or a bare word."""
        return self.event.text.strip() if self.event.kind is EventKind.COMMAND else ""

    # --- what the handler does --------------------------------------------------------------------
    def say(
        self,
        text: str,
        buttons: tuple[tuple[AnyButton, ...], ...] = (),
        *,
        request_contact: str | None = None,
        replace: bool = False,
    ) -> None:
        self.out.replies.append(Reply(text, buttons, request_contact, replace))

    def notify(self, channel: str, chat_id: str, reply: Reply) -> None:
        self.out.notices.append(Notice(Channel(channel), chat_id, reply))

    async def set_step(self, step: Step, state: FlowState | None = None) -> None:
        payload = (state or FlowState()).model_dump_json(exclude_defaults=True)
        await self.storage.chats.set_conversation(self.chat.id, step.value, payload)

    async def end_step(self) -> None:
        if self.snapshot.conversation is not None:
            await self.storage.chats.clear_conversation(self.chat.id)
