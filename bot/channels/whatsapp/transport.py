"""Unprompted WhatsApp messages (announcements, results, broadcasts) for the outbox sender.

`WhatsAppTransport.send` decides how one message can go to one user now, and says what happened:
- the user wrote within 24 hours: the message itself (free-form), as the channel renders any reply;
- else an approved template (the results template for a wave's results, the info template otherwise), within the
  account's messaging-limit tier of unique users per rolling 24 h; beyond it the message is HELD until a place
  frees up (`retry_at` says when), and 131047 from WhatsApp (window closed after all) also falls back to it;
- never more than one message per 6 s to a user (RETRY at the time it may go) nor more than the number's
  throughput (waits for a slot); 130429 / 131056 / server errors mean RETRY later with backoff;
- 131050 (user stopped marketing messages) is BLOCKED, 131026 and other recipient errors FAILED; an expired token
  or a restricted account raises, since no other send can work either.
The sender owns claiming, recording and rescheduling; this owns WhatsApp's rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.channels.whatsapp.channel import ChoiceState, WhatsAppChannel, in_window
from bot.channels.whatsapp.errors import (
    AccountRestricted,
    PairRateLimited,
    PermissionDenied,
    RateLimited,
    RecipientOptedOut,
    ReEngagementRequired,
    TokenError,
    WhatsAppError,
)
from bot.channels.whatsapp.render import Message, Renderer
from bot.channels.whatsapp.templates import info_template, result_template
from bot.logs import mask_text
from handlers.api import Reply
from handlers.i18n import translator
from handlers.roles import Channel

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=5)  # after a throughput limit or a server error; the sender may back off further
FATAL = (TokenError, AccountRestricted, PermissionDenied)


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not now: try again at `retry_at`
    HELD = "held"  # the tier is full: goes at `retry_at`, when a place frees up
    FAILED = "failed"
    BLOCKED = "blocked"  # the user does not want messages from us


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: str | None = None  # the (last) WhatsApp message id: status callbacks refer to it
    retry_at: datetime | None = None
    error: str | None = None
    template: bool = False  # sent as a template because the 24-hour window was closed


class WhatsAppTransport:
    channel = Channel.WHATSAPP

    def __init__(self, whatsapp: WhatsAppChannel, *, tier: int | None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.whatsapp = whatsapp
        self.tier = tier  # unique users per rolling 24 h for business-initiated messages; None: unlimited
        self.clock = clock or whatsapp.clock or (lambda: datetime.now(UTC))

    async def send(self, chat_id: str, reply: Reply, *, locale: str = "id", wave: int | None = None) -> SendResult:
        """Send `reply` to the WhatsApp chat `chat_id`; `wave` marks a wave's personal result."""
        now = self.clock()
        wait = self.whatsapp.pacer.wait_for(chat_id)
        if wait > 0:
            return SendResult(Outcome.RETRY, retry_at=now + timedelta(seconds=wait), error="one message per 6 s")
        storage = self.whatsapp.storage
        last = (await storage.whatsapp.last_inbound([chat_id])).get(chat_id)
        if in_window(last, now):
            try:
                return await self._free_form(chat_id, reply, locale)
            except ReEngagementRequired:
                log.info("WhatsApp says the 24-hour window is closed: sending the template instead")
            except WhatsAppError as exc:
                return self._outcome(exc, now)
        tier = await storage.whatsapp.tier_state(chat_id, now, self.tier)
        if not tier.allowed:
            return SendResult(Outcome.HELD, retry_at=tier.free_at,
                              error=f"messaging limit: {tier.counted} of {self.tier} users in 24 h")
        template = (result_template(self.whatsapp.templates, locale, wave) if wave is not None
                    else info_template(self.whatsapp.templates, locale, reply.text))
        try:
            message_id = await self._send(chat_id, template)
        except WhatsAppError as exc:
            return self._outcome(exc, now)
        await storage.whatsapp.initiated(chat_id, now)
        self.whatsapp.metrics.templates.inc()
        return SendResult(Outcome.SENT, message_id, template=True)

    async def _free_form(self, chat_id: str, reply: Reply, locale: str) -> SendResult:
        rendered = Renderer(translator(locale)).outgoing([reply])
        message_id = None
        for index, message in enumerate(rendered.messages):
            try:
                message_id = await self._send(chat_id, message)
            except WhatsAppError:
                if index == 0:
                    raise
                log.warning("WhatsApp message to %s sent only in part", mask_text(chat_id))
                break
        # The last message now is this one: its choices (e.g. "show card number" under a result) replace any older.
        state = ChoiceState(rendered.choices, rendered.secrets).to_json()
        await self.whatsapp.storage.whatsapp.set_choices(chat_id, state, self.clock())
        return SendResult(Outcome.SENT, message_id)

    async def _send(self, chat_id: str, message: Message) -> str:
        await self.whatsapp.pacer.slot(chat_id)
        return await self.whatsapp.client.send(chat_id, message)

    def _outcome(self, exc: WhatsAppError, now: datetime) -> SendResult:
        metrics = self.whatsapp.metrics
        if isinstance(exc, RateLimited):
            metrics.rate_limited.inc("whatsapp")
        metrics.send_errors.inc("whatsapp", type(exc).__name__)
        if isinstance(exc, FATAL):
            raise exc
        error = str(exc)
        if isinstance(exc, PairRateLimited):
            return SendResult(Outcome.RETRY, retry_at=now + timedelta(seconds=self.whatsapp.pacer.pair_interval),
                              error=error)
        if exc.retryable:
            return SendResult(Outcome.RETRY, retry_at=now + RETRY_BASE, error=error)
        if isinstance(exc, RecipientOptedOut):
            return SendResult(Outcome.BLOCKED, error=error)
        return SendResult(Outcome.FAILED, error=error)
