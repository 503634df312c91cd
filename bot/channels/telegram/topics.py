"""The support desk on Telegram (issue 8): ticket messages posted into the support group, one forum topic per ticket.

What an applicant sends to staff is stored first (handlers/handoff/: 'queued'), so nothing is lost when the group
cannot be reached. This worker claims a ticket (a lease: one worker per ticket, see storage/*/tickets.py), makes its
topic if it has none (createForumTopic, named with the ticket number and a masked phone, opened with the applicant's
state card), posts its messages in order (text; photos and documents by their file id, never downloaded) and
records each. A deleted topic is made again, with a note for staff. The bot removed from the group, without the
right to manage topics, or the network down: the messages stay queued and the worker tries again with backoff
(admins are told by the hand-off module when Telegram reports the bot's new status). Telegram lets a bot send
about 20 messages a minute to one group: the worker keeps under `per_minute` and obeys 429 retry_after.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from telegram import Bot
from telegram.constants import ForumTopicLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.app import App
from bot.channels.telegram.application import file_url
from bot.channels.telegram.delivery import DEFAULT_SEND_RATE, debit, retry_seconds
from bot.channels.telegram.markup import split_html
from bot.logs import mask_text
from bot.pacing import TokenBucket, send_budget
from bot.settings import Settings
from handlers.context import Services
from handlers.handoff import post_text, ticket_card, topic_name
from storage import StorageError
from storage.models import DeskBatch, PostKind, Ticket, TicketMessage

log = logging.getLogger(__name__)
T = TypeVar("T")

GROUP_MESSAGES_PER_MINUTE = 20  # Telegram: a bot sends at most about 20 messages a minute to one group
WINDOW_S = 60.0
# Of the minute's messages, this share may go at once (a ticket's card and first messages); the rest are spread
# evenly (bot/pacing.py: any minute then holds at most the limit).
BURST_SHARE = 0.2
BATCH = 5  # tickets claimed at once
LEASE = timedelta(seconds=120)  # a claimed ticket comes back to any worker after this (its worker died)
POLL_S = 1.0  # seconds between looks at the queue when nothing woke the worker (other processes queue too)
BACKOFF_MIN_S, BACKOFF_MAX_S = 2.0, 300.0
SEND_TIMEOUT_S = 15.0
STOP_GRACE_S = 2.0  # at shutdown, a post in progress may finish; then the worker is cancelled (leases expire)
# How the Bot API says a topic is gone (deleted by a member), and that the group itself cannot be used.
TOPIC_GONE = ("message thread not found", "thread not found", "topic_deleted", "topic_id_invalid")
DESK_BROKEN = ("chat not found", "not enough rights", "have no rights", "chat_admin_required", "not a forum",
               "chat_not_forum", "need administrator rights")


class DeskUnavailable(Exception):
    """The group cannot be posted to now (removed, no rights, flood wait, network): everything stays queued."""

    def __init__(self, reason: str, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.wait = wait


class TopicGone(Exception):
    """The ticket's topic was deleted."""


class PostRefused(Exception):
    """Telegram refuses this one message for good (e.g. a file id it does not know): it is marked failed."""


class _Topic(Protocol):
    @property
    def message_thread_id(self) -> int: ...


class _Posted(Protocol):
    @property
    def message_id(self) -> int: ...


class DeskBot(Protocol):
    """What the desk calls on the Bot API: a `telegram.Bot`, or the demo's printed group (bot/demo_chat.py)."""

    @property
    def token(self) -> str: ...

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def create_forum_topic(self, chat_id: int, name: str) -> _Topic: ...

    async def send_message(self, chat_id: int, text: str, *, parse_mode: str,
                           message_thread_id: int) -> _Posted: ...

    async def send_photo(self, chat_id: int, photo: str, *, caption: str, parse_mode: str,
                         message_thread_id: int) -> _Posted: ...

    async def send_document(self, chat_id: int, document: str, *, caption: str, parse_mode: str,
                            message_thread_id: int) -> _Posted: ...

    async def close_forum_topic(self, chat_id: int, message_thread_id: int) -> bool: ...


class SupportDesk:
    """A background worker (the web server's `Worker` protocol: start, stop, alive)."""

    name = "support_desk"

    def __init__(self, services: Services, bot: DeskBot, chat_id: int, *, per_minute: int = GROUP_MESSAGES_PER_MINUTE,
                 send_rate: float = DEFAULT_SEND_RATE, lease: timedelta = LEASE, poll: float = POLL_S,
                 batch: int = BATCH, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.services = services
        self.storage = services.storage
        self.bot = bot
        self.chat_id = chat_id
        self.pace = TokenBucket.window(per_minute, WINDOW_S, burst=max(1, int(per_minute * BURST_SHARE)))
        self.send_rate = send_rate  # the bot's messages per second, everywhere (TELEGRAM_RATE): one budget
        self.lease, self.poll, self.batch, self.clock = lease, poll, batch, clock
        self.posted = 0  # messages posted (figures for the benchmark)
        self.unavailable_since: float | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._ready = False  # the Bot is initialized (getMe answered)

    def wake(self, *_: object) -> None:
        """Look at the queue now (a router observer: called after every update this process handled)."""
        self._wake.set()

    # --- the Worker protocol ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.run(self._stop), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_S)
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
        if self._ready:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()
            self._ready = False

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- the loop -----------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.0
        while not stop.is_set():
            self._wake.clear()
            wait = self.poll
            try:
                if not self._ready:  # getMe: the token works and the API answers
                    await self.bot.initialize()
                    self._ready = True
                if await self.step():
                    wait = 0.0  # there may be more
                backoff = 0.0
                self._available()
            except (DeskUnavailable, TelegramError, StorageError) as exc:
                backoff = min(BACKOFF_MAX_S, max(BACKOFF_MIN_S, backoff * 2))
                wait = max(backoff, getattr(exc, "wait", 0.0))
                self._unavailable(exc, wait)
            if wait:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    def _available(self) -> None:
        if self.unavailable_since is not None:
            log.warning("support group reachable again after %.0f s: posting queued ticket messages",
                        time.monotonic() - self.unavailable_since)
            self.unavailable_since = None

    def _unavailable(self, exc: Exception, wait: float) -> None:
        level = logging.WARNING if self.unavailable_since is None else logging.INFO
        self.unavailable_since = self.unavailable_since or time.monotonic()
        log.log(level, "support group unavailable (%s): ticket messages stay queued, next try in %.0f s",
                mask_text(str(exc)), wait)

    async def step(self) -> int:
        """Post what is queued for up to `batch` tickets; the number of messages posted."""
        posted = 0
        pending = await self.storage.tickets.claim(self.batch, self.clock(), self.lease)
        try:
            while pending:
                posted += await self._post_ticket(pending[0])
                await self.storage.tickets.release(pending.pop(0).ticket.id)
        finally:  # the group went away mid-way: this ticket and the others go back to the queue
            for batch in pending:
                with contextlib.suppress(StorageError):
                    await self.storage.tickets.release(batch.ticket.id)
        return posted

    async def _post_ticket(self, batch: DeskBatch) -> int:
        ticket = batch.ticket
        topic = ticket.topic_id if ticket.topic_id is not None else await self._make_topic(ticket)
        posted = 0
        for message in batch.messages:
            try:
                sent = await self._post(topic, message)
            except TopicGone:
                log.warning("the topic of ticket %d was deleted: making it again", ticket.id)
                await self.storage.tickets.topic_lost(ticket.id, topic)
                topic = await self._make_topic(ticket)
                try:
                    sent = await self._post(topic, message)
                except TopicGone:
                    raise DeskUnavailable("a topic made just now is gone") from None
            except PostRefused as exc:
                log.warning("ticket %d: message %d refused by the group: %s", ticket.id, message.id, exc)
                await self.storage.tickets.failed(message.id, str(exc))
                continue
            await self.storage.tickets.posted(message.id, sent)
            posted += 1
            if message.kind is PostKind.CLOSE:
                with contextlib.suppress(DeskUnavailable, TopicGone, PostRefused):
                    await self._call(functools.partial(self.bot.close_forum_topic, self.chat_id, topic),
                                     counts=False)
        self.posted += posted
        return posted

    async def _make_topic(self, ticket: Ticket) -> int:
        recreated = await self.storage.tickets.was_posted(ticket.id)
        name = topic_name(ticket)[: ForumTopicLimit.MAX_NAME_LENGTH]
        topic = await self._call(lambda: self.bot.create_forum_topic(self.chat_id, name))
        thread = topic.message_thread_id
        await self.storage.tickets.set_topic(ticket.id, thread)
        card = await ticket_card(self.services, ticket, recreated=recreated)
        try:
            await self._send_text(thread, card)
        except (TopicGone, PostRefused) as exc:
            raise DeskUnavailable(f"the first post of a new topic failed: {exc}") from None
        return thread

    async def _post(self, thread: int, message: TicketMessage) -> str | None:
        """Post one message; the Telegram id of its (first) post, None when there was nothing to post."""
        text = post_text(message)
        if message.kind in (PostKind.PHOTO, PostKind.DOCUMENT) and message.file_id:
            caption, *rest = split_html(text, MessageLimit.CAPTION_LENGTH) or [""]
            file_id = message.file_id
            if message.kind is PostKind.PHOTO:
                sent = await self._call(lambda: self.bot.send_photo(
                    self.chat_id, file_id, caption=caption, parse_mode=ParseMode.HTML, message_thread_id=thread))
            else:
                sent = await self._call(lambda: self.bot.send_document(
                    self.chat_id, file_id, caption=caption, parse_mode=ParseMode.HTML, message_thread_id=thread))
            if rest:
                await self._send_text(thread, "".join(rest))
            return str(sent.message_id)
        if not text.strip():
            return None
        first = await self._send_text(thread, text)
        return str(first.message_id) if first is not None else None

    async def _send_text(self, thread: int, text: str) -> _Posted | None:
        first = None
        for part in split_html(text):
            sent = await self._call(functools.partial(
                self.bot.send_message, self.chat_id, part, parse_mode=ParseMode.HTML, message_thread_id=thread))
            first = first or sent
        return first

    async def _call(self, call: Callable[[], Awaitable[T]], *, counts: bool = True) -> T:
        """One Bot API call at the group's pace; its errors as this module's exceptions."""
        wait = self._paused_until - time.monotonic()
        if counts:  # the group's pace, and the bot's one send budget (answers first, like an answer)
            wait = max(wait, self.pace.reserve() or 0.0)
            await debit(send_budget(self.bot.token, self.send_rate))
        if wait > 0:  # one sleep: nothing else takes the place, this worker posts alone
            await asyncio.sleep(wait)
        try:
            result = await call()
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self._paused_until = time.monotonic() + seconds
            raise DeskUnavailable(f"flood control: retry after {seconds:.0f} s", seconds) from None
        except Forbidden as exc:  # removed from the group
            raise DeskUnavailable(exc.message) from None
        except BadRequest as exc:
            text = exc.message.lower()
            if any(marker in text for marker in TOPIC_GONE):
                raise TopicGone(exc.message) from None
            if any(marker in text for marker in DESK_BROKEN):
                raise DeskUnavailable(exc.message) from None
            raise PostRefused(mask_text(exc.message)) from None
        return result


def support_desk(app: App, settings: Settings) -> SupportDesk | None:
    """The desk for `settings` (None without SUPPORT_CHAT_ID or a Telegram token), woken by every handled update."""
    if settings.support_chat_id is None or not settings.telegram_bot_token:
        return None
    request = HTTPXRequest(connection_pool_size=2, connect_timeout=SEND_TIMEOUT_S, read_timeout=SEND_TIMEOUT_S,
                           write_timeout=SEND_TIMEOUT_S, pool_timeout=SEND_TIMEOUT_S)
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_url,
              base_file_url=file_url(settings.telegram_api_url), request=request)
    desk = SupportDesk(app.router.services, bot, settings.support_chat_id, per_minute=settings.support_group_per_minute,
                       send_rate=settings.telegram_rate)
    app.router.observers.append(desk.wake)
    return desk

