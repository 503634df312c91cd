"""The WhatsApp channel: webhook messages through the router, replies back through the Cloud API.

One chat's messages are handled in order by the caller (the web server's keyed queue); this class handles one
message: drop a redelivery, open the 24-hour window, turn a typed number into the choice it names, run the
router, render and send the replies, and remember the numbered choices of the last message. Paging and "show
card number" buttons are answered here, without the router: they only re-show what was already sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.channels.whatsapp.client import WhatsAppClient
from bot.channels.whatsapp.errors import RateLimited, ReEngagementRequired, WhatsAppError
from bot.channels.whatsapp.inbound import InboundMessage, StatusUpdate
from bot.channels.whatsapp.limits import CUSTOMER_SERVICE_WINDOW
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.render import PAGE, REVEAL, Choice, Message, Renderer, text_message
from bot.channels.whatsapp.templates import TemplateNames, code_template, info_template
from bot.logs import mask_text
from bot.metrics import Metrics
from handlers.api import Button, Event, EventKind, Notice, Outgoing, Reply, parse_payload, rows
from handlers.digits import parse_int
from handlers.i18n import translator
from handlers.roles import Channel
from handlers.router import GO, Router
from storage import Storage
from storage.interface import StatusRecord

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 2.0, 4.0)  # backoff after a rate limit or a server error, then give up on the message
TYPED_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$", re.ASCII)  # ASCII digits only (handlers/digits.py)

Forward = Callable[[Notice], Awaitable[None]]
STATUS_LABELS = frozenset({"sent", "delivered", "read", "failed", "deleted", "played", "warning"})


@dataclass
class ChoiceState:
    """What the last message offered: numbered choices (typed numbers press them) and masked secrets."""

    choices: list[Choice] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def to_json(self) -> str | None:
        if not self.choices and not self.secrets:
            return None
        return json.dumps({"choices": [[c.label, c.payload] for c in self.choices], "secrets": self.secrets})

    @classmethod
    def from_json(cls, raw: str | None) -> ChoiceState:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls([Choice(str(label), str(payload)) for label, payload in data.get("choices", [])],
                       [str(s) for s in data.get("secrets", [])])
        except (ValueError, TypeError, AttributeError):
            return cls()


def in_window(last_inbound: datetime | None, now: datetime) -> bool:
    return last_inbound is not None and now - last_inbound < CUSTOMER_SERVICE_WINDOW


class WhatsAppChannel:
    def __init__(
        self,
        router: Router,
        storage: Storage,
        client: WhatsAppClient,
        *,
        templates: TemplateNames | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_delays: Sequence[float] = RETRY_DELAYS_S,
        forward: Forward | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.router = router
        self.storage = storage
        self.client = client
        self.templates = templates or TemplateNames()
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.retry_delays = tuple(retry_delays)
        self.forward = forward  # notices for other channels (Telegram)
        self.pacer = pacer or Pacer()  # shared with the outbox transport: one throughput budget

    # --- inbound ------------------------------------------------------------------------------------
    async def handle_message(self, message: InboundMessage, *, stored: bool = False) -> None:
        """`stored`: it comes from the durable inbox (bot/inbox/), which dropped redeliveries already: its id is not
        recorded in `webhook_seen` as well (one INSERT a message less; an id recorded there by a handling that a
        crash cut short is no obstacle)."""
        now = self.clock()
        chat_id = message.event.chat_id
        if stored:
            await self.storage.whatsapp.received(chat_id, message.bsuid, min(message.timestamp, now))
        elif not await self.storage.whatsapp.receive(message.message_id, chat_id, message.bsuid,
                                                     min(message.timestamp, now)):
            self.metrics.webhooks.inc("whatsapp", "duplicate")
            log.info("WhatsApp message redelivered: handled before, skipped")
            return
        event = message.event
        if _someone_elses_card(event):
            await self._card_not_used(event)
            return
        if _needs_state(event):
            locale, raw = await self.storage.whatsapp.reply_state(chat_id)
            state = ChoiceState.from_json(raw)
            if await self._channel_action(event, state, locale):
                return
            event = _typed_choice(event, state)
        outgoing = await self.router.handle(event)
        await self.deliver(chat_id, outgoing)

    async def _channel_action(self, event: Event, state: ChoiceState, locale: str) -> bool:
        """Answer "next page" and "show card number" from the stored state; False when that state is gone."""
        index = parse_int(event.arg) if event.kind is EventKind.ACTION else None
        if index is None:
            return False
        t = translator(locale)
        if event.action == PAGE and state.choices:
            message = Renderer(t).numbered_page(state.choices, index)
        elif event.action == REVEAL and index < len(state.secrets):
            message = text_message(t.gettext("Nomor Kartu Prakerja: *{card}*").format(card=state.secrets[index]))
        else:
            return False
        self.metrics.updates.inc("whatsapp", event.action)
        await self.send(event.chat_id, message)
        return True

    async def _card_not_used(self, event: Event) -> None:
        """A contact card of another number. On WhatsApp the chat's own number is what links an account; a card
        proves nothing, and taking it as a link attempt told the sender that *their* number was not registered."""
        locale, _ = await self.storage.whatsapp.reply_state(event.chat_id)
        t = translator(locale)
        self.metrics.updates.inc("whatsapp", "contact_card")
        await self.deliver(event.chat_id, Outgoing(replies=[Reply(
            t.gettext("Kartu kontak tidak kami baca. Di WhatsApp, akun Prakerja dihubungkan dengan nomor WhatsApp yang"
                      " Anda pakai untuk chat ini: pilih <b>Hubungkan akun</b>."),
            rows(Button(t.gettext("Hubungkan akun"), GO, "hubungkan"), Button(t.gettext("Menu"), GO, "menu")))]))

    async def handle_statuses(self, statuses: Sequence[StatusUpdate]) -> None:
        """Record status callbacks (sent, delivered, read, failed) in arrival order, in one write."""
        for status in statuses:  # a label per status Meta names; anything else is "other" (labels stay few)
            self.metrics.statuses.inc(status.status if status.status in STATUS_LABELS else "other")
        await self.storage.whatsapp.record_statuses(
            [StatusRecord(s.message_id, s.recipient, s.status, s.error_code, s.timestamp) for s in statuses])
        for status in statuses:
            if status.status == "failed":
                log.info("WhatsApp message failed after sending: %s %s", status.error_code, status.error_title)

    # --- outbound -----------------------------------------------------------------------------------
    async def deliver(self, chat_id: str, outgoing: Outgoing) -> None:
        """Send the replies to the chat that wrote (its window is open) and the notices to other chats."""
        locale, raw = await self.storage.whatsapp.reply_state(chat_id)
        if outgoing.replies:
            rendered = Renderer(translator(locale)).outgoing(outgoing.replies)
            for message in rendered.messages:
                if await self.send(chat_id, message) is None:
                    break
            state = ChoiceState(rendered.choices, rendered.secrets).to_json()
            if state is not None or raw is not None:
                await self.storage.whatsapp.set_choices(chat_id, state, self.clock())
        for notice in outgoing.notices:
            await self.notice(notice)

    async def notice(self, notice: Notice) -> None:
        """A message to another chat: free-form inside its window, else the info template."""
        if notice.channel is not Channel.WHATSAPP:
            if self.forward is not None:
                await self.forward(notice)
            else:
                log.info("notice for a %s chat not delivered: no sender for that channel here", notice.channel)
            return
        if notice.code is not None:
            await self.send_code(notice.chat_id, notice.code)
            return
        await self.send_unprompted(notice.chat_id, notice.reply)

    async def send_code(self, chat_id: str, code: str) -> str | None:
        """A verification code always goes as the authentication template (Meta's rule for one-time codes)."""
        now = self.clock()
        last = (await self.storage.whatsapp.last_inbound([chat_id])).get(chat_id)
        locale, _ = await self.storage.whatsapp.reply_state(chat_id)
        wamid = await self.send(chat_id, code_template(self.templates, locale, code))
        if wamid is not None and not in_window(last, now):
            await self.storage.whatsapp.initiated(chat_id, now)
        return wamid

    async def send_unprompted(self, chat_id: str, reply: Reply, locale: str | None = None) -> list[str]:
        """Send a reply the user did not ask for just now: free-form within 24 h of their last message,
        else as the info template (also when WhatsApp answers 131047). Returns the message ids sent."""
        now = self.clock()
        last = (await self.storage.whatsapp.last_inbound([chat_id])).get(chat_id)
        if locale is None:
            locale, _ = await self.storage.whatsapp.reply_state(chat_id)
        if in_window(last, now):
            sent: list[str] = []
            try:
                for message in Renderer(translator(locale)).outgoing([reply]).messages:
                    wamid = await self.send(chat_id, message, raise_for=ReEngagementRequired)
                    if wamid is None:
                        return sent
                    sent.append(wamid)
                return sent
            except ReEngagementRequired:
                log.info("WhatsApp says the window is closed: sending the template instead")
        wamid = await self.send(chat_id, info_template(self.templates, locale, reply.text))
        if wamid is None:
            return []
        self.metrics.templates.inc()
        await self.storage.whatsapp.initiated(chat_id, now)
        return [wamid]

    async def send(self, to: str, message: Message, *,
                   raise_for: type[WhatsAppError] | None = None) -> str | None:
        """Send one message, retrying rate limits and server errors with backoff; None when it failed."""
        for delay in (*self.retry_delays, None):
            await self.pacer.slot(to)
            try:
                return await self.client.send(to, message)
            except WhatsAppError as exc:
                if raise_for is not None and isinstance(exc, raise_for):
                    raise
                if isinstance(exc, RateLimited):
                    self.metrics.rate_limited.inc("whatsapp")
                if exc.retryable and delay is not None:
                    await asyncio.sleep(delay)
                    continue
                self.metrics.send_errors.inc("whatsapp", type(exc).__name__)
                log.warning("WhatsApp send to %s failed: %s", mask_text(to), exc)
                return None
        return None


def _someone_elses_card(event: Event) -> bool:
    """A contact card from a sender whose number WhatsApp gave us, holding another number. (A sender known only by
    a BSUID may share a card to say which number to verify: the link flow sends that number a code.)"""
    return event.kind is EventKind.CONTACT and event.sender_phone is not None and not event.contact_is_own


def _needs_state(event: Event) -> bool:
    if event.kind is EventKind.ACTION:
        return event.action in (PAGE, REVEAL)
    return event.kind is EventKind.TEXT and TYPED_NUMBER.match(event.text) is not None


def _typed_choice(event: Event, state: ChoiceState) -> Event:
    """A typed "3" after numbered choices presses choice 3."""
    match = TYPED_NUMBER.match(event.text) if event.kind is EventKind.TEXT else None
    if match is None:
        return event
    number = int(match.group(1))
    if not 1 <= number <= len(state.choices):
        return event
    action, arg = parse_payload(state.choices[number - 1].payload)
    return replace(event, kind=EventKind.ACTION, action=action, arg=arg, text="")
