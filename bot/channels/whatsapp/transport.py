"""The sender's WhatsApp transport: unprompted messages (results, announcements, broadcasts, notices).

`WhatsAppTransport.send` (the `bot.sender.transport.Transport` protocol) decides how one message can go to one
user now, and returns the sender's `Outcome`, never raising:
- the user wrote within 24 hours: the message itself (free-form), rendered as the channel renders any reply;
- else an approved template (the results template for a wave's results, the info template otherwise), within the
  account's messaging-limit tier of unique users per rolling 24 h; beyond it the message waits (RETRY at the time
  a place frees up, which /siaran_status shows); WhatsApp's 131047 (window closed after all) also falls back to it;
- at most one message per 6 s to a user, and the number's throughput shared with the replies to users (the
  channel's `Pacer`); 130429 is flood control (the lane pauses), 131056 / server errors retry later;
- 131050 (user stopped marketing messages) is BLOCKED; 131026 and other recipient errors FAILED; an expired token
  or a restricted account is TRANSIENT (nothing can be sent until an operator fixes it, and then all of it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.channels.whatsapp.channel import ChoiceState, WhatsAppChannel, in_window
from bot.channels.whatsapp.client import WhatsAppClient
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
from bot.channels.whatsapp.limits import PAIR_RATE_INTERVAL_S
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.render import Message, Renderer
from bot.channels.whatsapp.templates import TemplateNames, info_template, result_template
from bot.logs import mask_text
from bot.metrics import Metrics
from bot.sender.transport import Outcome, Recipient
from bot.settings import Settings
from handlers.api import Reply
from handlers.i18n import translator
from handlers.roles import Channel
from storage import Storage

log = logging.getLogger(__name__)

FLOOD_PAUSE_S = 5.0  # after 130429 (throughput): the lane pauses this long, then the pacer keeps the rate
SETUP_ERRORS = (TokenError, AccountRestricted, PermissionDenied)


class WhatsAppTransport:
    channel = Channel.WHATSAPP
    per_chat_interval = PAIR_RATE_INTERVAL_S

    def __init__(self, storage: Storage, client: WhatsAppClient, *, pacer: Pacer, templates: TemplateNames,
                 metrics: Metrics, tier: int | None, clock: Callable[[], datetime] | None = None,
                 owns_client: bool = False) -> None:
        self.storage = storage
        self.client = client
        self.pacer = pacer
        self.templates = templates
        self.metrics = metrics
        self.tier = tier  # unique users per rolling 24 h for business-initiated messages; None: unlimited
        self.clock = clock or (lambda: datetime.now(UTC))
        self.owns_client = owns_client
        # The sender's bucket claims at the number's rate; the Pacer then spaces the sends, sharing the budget
        # with the replies to users.
        self.rate: float | None = 1.0 / pacer.limiter.interval

    @classmethod
    def for_channel(cls, channel: WhatsAppChannel, tier: int | None) -> WhatsAppTransport:
        """Sharing the channel's client, pacer and metrics (one process serving webhooks and sending)."""
        return cls(channel.storage, channel.client, pacer=channel.pacer, templates=channel.templates,
                   metrics=channel.metrics, tier=tier, clock=channel.clock)

    async def start(self) -> None:
        """Nothing to connect: the first send tells whether the token works."""

    async def set_menu(self, user_id: str, commands: list[tuple[str, str]] | None) -> bool:
        return True  # WhatsApp has no per-chat command menu

    async def close(self) -> None:
        if self.owns_client:
            await self.client.close()

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome:
        chat_id, locale, now = recipient.chat_id, recipient.locale, self.clock()
        wait = self.pacer.wait_for(chat_id)
        if wait > 0:  # the user got a message (e.g. a reply) less than 6 s ago
            return Outcome.later(now + timedelta(seconds=wait), "one message per 6 s to a user")
        last = (await self.storage.whatsapp.last_inbound([chat_id])).get(chat_id)
        if in_window(last, now):
            try:
                return await self._free_form(chat_id, reply, locale)
            except ReEngagementRequired:
                log.info("WhatsApp says the 24-hour window is closed: sending the template instead")
            except WhatsAppError as exc:
                return self._outcome(exc, now)
        tier = await self.storage.whatsapp.tier_state(chat_id, now, self.tier)
        if not tier.allowed:
            assert tier.free_at is not None
            return Outcome.later(tier.free_at, f"messaging limit: {tier.counted} of {self.tier} users in 24 h")
        template = (result_template(self.templates, locale, recipient.wave) if recipient.wave is not None
                    else info_template(self.templates, locale, reply.text))
        try:
            message_id = await self._send(chat_id, template)
        except WhatsAppError as exc:
            return self._outcome(exc, now)
        await self.storage.whatsapp.initiated(chat_id, now)
        self.metrics.templates.inc()
        return Outcome.sent(message_id)

    async def _free_form(self, chat_id: str, reply: Reply, locale: str) -> Outcome:
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
        await self.storage.whatsapp.set_choices(chat_id, state, self.clock())
        return Outcome.sent(message_id)

    async def _send(self, chat_id: str, message: Message) -> str:
        await self.pacer.slot(chat_id)
        return await self.client.send(chat_id, message)

    def _outcome(self, exc: WhatsAppError, now: datetime) -> Outcome:
        if isinstance(exc, RateLimited):
            self.metrics.rate_limited.inc("whatsapp")
        self.metrics.send_errors.inc("whatsapp", type(exc).__name__)
        error = mask_text(str(exc))
        if isinstance(exc, PairRateLimited):
            return Outcome.later(now + timedelta(seconds=self.pacer.pair_interval), error)
        if isinstance(exc, RateLimited):
            return Outcome.flood(FLOOD_PAUSE_S, error)
        if isinstance(exc, SETUP_ERRORS):
            log.error("WhatsApp refuses to send (%s): check WHATSAPP_TOKEN and the business account", error)
            return Outcome.transient(error)
        if exc.retryable:
            return Outcome.transient(error, maybe_sent=exc.code == -1)
        if isinstance(exc, RecipientOptedOut):
            return Outcome.blocked(error)
        return Outcome.failed(error)


def whatsapp_transport(settings: Settings, storage: Storage) -> WhatsAppTransport:
    """A transport with its own client, for `python -m bot sender` running alone."""
    assert settings.whatsapp_token and settings.whatsapp_phone_id
    client = WhatsAppClient(settings.whatsapp_api_url, settings.whatsapp_phone_id, settings.whatsapp_token)
    templates = TemplateNames(settings.whatsapp_template_info, settings.whatsapp_template_result,
                              settings.whatsapp_template_code, settings.template_languages)
    return WhatsAppTransport(storage, client, pacer=Pacer(settings.whatsapp_rate), templates=templates,
                             metrics=Metrics(), tier=settings.whatsapp_tier_limit, owns_client=True)
