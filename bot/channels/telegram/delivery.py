"""Send what the router produced: answers (edited in place when a button asked so), notices, deletions.

A Telegram error never escapes: a blocked bot, a bad request, a timeout are logged (masked) and the update is
done. A flood-control answer (RetryAfter) is waited out and retried once for direct answers, when the wait is
short; so is a failure that did not deliver (5xx, a dropped connection, an answer that is not the Bot API's),
after a short pause, so that a passing fault does not leave the user without an answer. A timeout is not retried:
the message may have arrived.
Notices to other chats are not retried here.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.channels.telegram.markup import Part, markup_json, parts
from bot.logs import mask_text
from bot.pacing import TokenBucket, send_budget
from bot.sender.budget import share_answers
from handlers.api import Event, EventKind, Outgoing, Reply
from handlers.digits import parse_int
from handlers.roles import Channel
from storage.interface import RateBudget

log = logging.getLogger(__name__)
T = TypeVar("T")

# Calls made raw on purpose (see `post`): PTB's advice to use its typed method instead is not for these.
RAW_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup")
RAW_CALL_ADVICE = rf"Please use 'Bot\.({'|'.join(RAW_METHODS)})' instead of 'Bot\.do_api_request"
warnings.filterwarnings("ignore", message=RAW_CALL_ADVICE, category=PTBUserWarning)

MAX_RETRY_WAIT = 30.0  # seconds: a longer flood wait drops the answer rather than hold the chat
NETWORK_RETRY_WAIT = 0.5  # seconds before the one retry after a 5xx or a dropped connection
DEFAULT_SEND_RATE = 30.0  # Telegram: about 30 messages a second per bot, all chats together (TELEGRAM_RATE)
# Seconds a message waits at most for its token of the bot's send budget (bot/pacing.py): unnoticed by a user;
# past that it goes at once and Telegram decides (a 429 is waited out and pauses the broadcast).
ANSWER_MAX_WAIT = 0.5


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def debit(budget: TokenBucket) -> None:
    """Take a message's token of the bot's send budget ahead of the broadcast, waiting for it at most
    ANSWER_MAX_WAIT."""
    wait = budget.reserve(ANSWER_MAX_WAIT)
    if wait:
        await asyncio.sleep(wait)


async def guarded(what: str, chat_id: int | str, call: Callable[[], Awaitable[T]], *, retry: bool = True,
                  raise_bad_request: bool = False, budget: TokenBucket | None = None) -> T | None:
    """Run one Bot API call; on failure log (masked) and return None. A flood wait pauses `budget`'s broadcast."""
    for attempt in (1, 2):
        try:
            return await call()
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if budget is not None:
                budget.pause(wait)
            if not retry or attempt == 2 or wait > MAX_RETRY_WAIT:
                log.warning("%s to chat %s dropped: flood control, retry after %ss", what, chat_id, wait)
                return None
            await asyncio.sleep(wait)
        except Forbidden as exc:
            log.info("%s to chat %s refused: %s", what, chat_id, mask_text(exc.message))
            return None
        except BadRequest as exc:
            if raise_bad_request:
                raise
            log.warning("%s to chat %s rejected: %s", what, chat_id, mask_text(exc.message))
            return None
        except TelegramError as exc:  # NetworkError (5xx, dropped connection), TimedOut, an unreadable answer, ...
            if not retry or attempt == 2 or not _undelivered(exc):
                log.warning("%s to chat %s failed: %s: %s", what, chat_id, type(exc).__name__, mask_text(exc.message))
                return None
            log.info("%s to chat %s failed, retrying: %s", what, chat_id, mask_text(exc.message))
            await asyncio.sleep(NETWORK_RETRY_WAIT)
    return None


def _undelivered(exc: TelegramError) -> bool:
    """Worth one retry: a server error or a dropped connection (NetworkError), or an answer that was not the Bot
    API's (a broken proxy: PTB's bare TelegramError "Invalid server response"). Not a timeout: the message may
    have arrived, and sending it again would show it twice."""
    return (isinstance(exc, NetworkError) and not isinstance(exc, TimedOut)) or type(exc) is TelegramError


async def post(bot: Bot, method: str, params: dict[str, object]) -> Any:
    """One Bot API call; its raw result (a dict, or True).

    PTB's typed methods (send_message, edit_message_text, ...) parse every answer into a `Message`, which costs
    more than the rest of the call (measured: the largest single cost of an answer); an answer's only use here is
    its message_id. `Bot.do_api_request` (public since PTB 20.8) makes the same call through the same request
    and errors (RetryAfter, Forbidden, BadRequest, ...) and returns the raw result. Keyboards go as their JSON,
    made once per keyboard (markup_json). Parameters that are None are dropped, as the typed methods do.
    """
    return await bot.do_api_request(method, api_kwargs={k: v for k, v in params.items() if v is not None})


async def send_text(bot: Bot, chat_id: int, part: Part, thread: int | None = None) -> int:
    """sendMessage of one text part (HTML, its keyboard); the message_id. Raises PTB's errors."""
    sent = await post(bot, "sendMessage", {
        "chat_id": chat_id, "text": part.text, "parse_mode": ParseMode.HTML.value,
        "reply_markup": markup_json(part.markup), "message_thread_id": thread})
    return int(sent["message_id"])


class Delivery:
    def __init__(self, bot: Bot, *, send_rate: float = DEFAULT_SEND_RATE, shared: RateBudget | None = None) -> None:
        """`shared`: the senders' rate budget of every process (PostgreSQL), which the answers debit too."""
        self.bot = bot
        self.send_rate = send_rate
        self.shared = shared

    @property
    def budget(self) -> TokenBucket:
        """The bot's one send budget in this process, which the outbox sender's broadcasts share (answers first);
        on PostgreSQL its answers are reported to the budget the senders of every process share."""
        return share_answers(send_budget(self.bot.token, self.send_rate), self.shared, Channel.TELEGRAM.value)

    async def deliver(self, update: Update, event: Event, outgoing: Outgoing) -> None:
        chat_id = int(event.chat_id)
        deleting = None  # the message holding a NIK goes while the answer is sent: one round trip less in sequence
        if outgoing.forget_incoming and update.effective_message is not None:
            deleting = asyncio.ensure_future(self.delete(chat_id, update.effective_message.message_id))
        try:
            await self._answer(update, event, outgoing, chat_id)
        finally:
            if deleting is not None:
                await deleting

    async def _answer(self, update: Update, event: Event, outgoing: Outgoing, chat_id: int) -> None:
        # After a shared contact the "share my number" keyboard goes, unless the answer asks again.
        remove_keyboard = event.kind is EventKind.CONTACT and not any(r.request_contact for r in outgoing.replies)
        edit_target = _button_message(update) if event.kind is EventKind.ACTION else None
        thread = int(event.thread_id) if event.thread_id else None  # a forum topic: answers stay in it (issue 8)
        for reply in outgoing.replies:
            messages = parts(reply)
            if (reply.replace and edit_target is not None and len(messages) == 1 and not reply.request_contact
                    and not reply.photo):
                done = await self.edit(chat_id, edit_target, messages[0])
                edit_target = None
                if done:
                    continue
            for part in messages:
                if remove_keyboard:
                    await self._send_removing_keyboard(chat_id, part)
                    remove_keyboard = False
                else:
                    await self.send(chat_id, part, thread=thread)
        for notice in outgoing.notices:
            await self.notice(notice.channel, notice.chat_id, notice.reply)

    async def send(self, chat_id: int, part: Part, *, retry: bool = True, thread: int | None = None) -> int | None:
        """Send one message; its message_id, or None if it was not sent."""
        budget = self.budget

        async def call() -> int:
            await debit(budget)
            if part.photo:
                photo = await self.bot.send_photo(chat_id, part.photo, caption=part.text or None,
                                                  parse_mode=ParseMode.HTML, reply_markup=part.markup,
                                                  message_thread_id=thread)
                return photo.message_id
            return await send_text(self.bot, chat_id, part, thread)

        return await guarded("message", chat_id, call, retry=retry, budget=budget)

    async def _send_removing_keyboard(self, chat_id: int, part: Part) -> None:
        """Send `part` taking the contact keyboard away; a message has one keyboard, so inline buttons are
        put back on it by an edit."""
        sent = await self.send(chat_id, Part(part.text, _REMOVE_KEYBOARD))
        if sent is not None and isinstance(part.markup, InlineKeyboardMarkup):
            async def call() -> object:
                return await post(self.bot, "editMessageReplyMarkup", {
                    "chat_id": chat_id, "message_id": sent, "reply_markup": markup_json(part.markup)})

            await guarded("keyboard", chat_id, call)

    async def edit(self, chat_id: int, message_id: int, part: Part) -> bool:
        """Replace the message a button was on; False if it cannot be edited (too old, deleted, ...)."""
        markup = part.markup if isinstance(part.markup, InlineKeyboardMarkup) else None

        async def call() -> object:
            return await post(self.bot, "editMessageText", {
                "chat_id": chat_id, "message_id": message_id, "text": part.text,
                "parse_mode": ParseMode.HTML.value, "reply_markup": markup_json(markup)})

        try:
            await guarded("edit", chat_id, call, raise_bad_request=True)
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            log.info("could not edit message in chat %s (%s): sending a new one", chat_id, mask_text(exc.message))
            return False
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        async def call() -> object:
            return await self.bot.delete_message(chat_id, message_id)

        await guarded("deletion", chat_id, call, retry=False)

    async def notice(self, channel: Channel, chat_id: str, reply: Reply) -> None:
        if channel is not Channel.TELEGRAM:
            log.info("notice for %s chat %s not delivered: no sender for that channel here", channel, chat_id)
            return
        if parse_int(chat_id, max_digits=20, signed=True) is None:
            log.warning("notice for a malformed Telegram chat id %r dropped", chat_id)
            return
        for part in parts(reply):
            await self.send(int(chat_id), part, retry=False)


_REMOVE_KEYBOARD = ReplyKeyboardRemove()  # immutable: one for every chat, its JSON made once


def _button_message(update: Update) -> int | None:
    query = update.callback_query
    if query is None or query.message is None or not query.message.is_accessible:
        return None
    return query.message.message_id
