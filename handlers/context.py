"""What a handler gets for one event: the event, the chat as stored, typed conversation state, and a reply API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.api import AnyButton, Event, Notice, Outgoing, Reply
from handlers.i18n import Translator, translator
from handlers.roles import Channel, Principal, Role
from storage import Storage
from storage.models import Account, Chat, ChatSnapshot


class Step(StrEnum):
    """Where a chat is in a multi-message flow. Stored by name: renaming a member strands stored chats."""

    LINK_AWAIT_CONTACT = "link.await_contact"
    LINK_AWAIT_NIK = "link.await_nik"
    ELIGIBILITY = "eligibility.question"
    SCAM_AWAIT_MESSAGE = "scam.await_message"
    TRAINING_AWAIT_KEYWORD = "training.await_keyword"


class FlowState(BaseModel):
    """The payload of a step. Typed, validated on load; a payload that no longer parses is dropped."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = None  # link: the verified phone number (E.164)
    question: int = 0  # eligibility: index of the current question


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


@dataclass(slots=True)
class Services:
    storage: Storage
    config: HandlerConfig
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


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
