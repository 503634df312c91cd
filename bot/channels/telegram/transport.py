"""The Telegram transport of the sender, and downloads of files users sent (admin CSV uploads).

Its own `Bot` (own connections) at `TELEGRAM_API_URL`. Its pace is the bot's one send budget in this process
(`budget_key`: bot/pacing.py `send_budget`), which the answers to applicants take first: Telegram counts both. A
flood wait here pauses the broadcast path only; answers keep going.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram.application import file_url
from bot.channels.telegram.delivery import retry_seconds, send_text
from bot.channels.telegram.markup import inline_keyboard, parts
from bot.channels.telegram.request import LeanRequest
from bot.logs import mask_text
from bot.sender.transport import Outcome, Recipient
from handlers.api import FileError, Reply
from handlers.digits import parse_int
from handlers.roles import Channel

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # Telegram: at most one message per second to one chat
SEND_TIMEOUT = 10.0  # seconds; the sender's lease must be longer


def outcome_of(exc: TelegramError) -> Outcome:
    """What a Bot API error (as python-telegram-bot raises it) means for a delivery."""
    match exc:
        case RetryAfter():
            return Outcome.flood(retry_seconds(exc), "429 flood control")
        case Forbidden():  # bot blocked, user deactivated, never started the bot
            return Outcome.blocked(mask_text(exc.message))
        case BadRequest():  # chat not found, bad markup, wrong file id: the same request would fail again
            return Outcome.failed(mask_text(exc.message))
        case TimedOut():
            return Outcome.transient(f"timeout: {exc.message}", maybe_sent=True)
        case InvalidToken():
            return Outcome.transient("token refused")
    return Outcome.transient(mask_text(exc.message))  # NetworkError: 5xx, connection reset


class TelegramTransport:
    channel = Channel.TELEGRAM
    per_chat_interval = PER_CHAT_INTERVAL

    def __init__(self, token: str, api_url: str, *, rate: float, concurrency: int,
                 timeout: float = SEND_TIMEOUT, lean: bool = True) -> None:
        self.rate: float | None = rate
        self.budget_key = token  # the bot's send budget, shared with its answers (bot/sender/budget.py bucket_for)
        request: BaseRequest = HTTPXRequest(connection_pool_size=concurrency + 2, connect_timeout=timeout,
                                            read_timeout=timeout, write_timeout=timeout, pool_timeout=timeout)
        if lean:  # JSON calls over bot/http_post.py (httpx: ~1.7 ms CPU a request); PTB's error mapping unchanged
            request = LeanRequest(request, connections=concurrency, timeout=timeout)
        self.bot = Bot(token, base_url=api_url, base_file_url=file_url(api_url), request=request,
                       get_updates_request=HTTPXRequest(connection_pool_size=1))
        self._started = False

    async def start(self) -> None:
        if not self._started:
            try:
                await self.bot.initialize()  # getMe: the token works and the API answers
            except InvalidToken:
                raise RuntimeError("Telegram refused TELEGRAM_BOT_TOKEN") from None
            self._started = True

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome:
        chat_id = parse_int(recipient.chat_id, max_digits=20, signed=True)
        if chat_id is None:
            return Outcome.failed("malformed Telegram chat id")
        message_id: int | None = None
        try:
            if reply.photo:
                message = await self.bot.send_photo(chat_id, reply.photo, caption=reply.text,
                                                    parse_mode=ParseMode.HTML, reply_markup=inline_keyboard(reply))
                message_id = message.message_id
            else:
                for part in parts(reply):  # one part: the composer keeps texts under the limit
                    message_id = await send_text(self.bot, chat_id, part)  # no Message parsed from the answer
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent(str(message_id) if message_id is not None else None)

    async def set_menu(self, user_id: str, commands: list[tuple[str, str]] | None) -> bool:
        scope = BotCommandScopeChat(int(user_id))  # a private chat's id is the user's id
        if commands:
            await self.bot.set_my_commands([BotCommand(name, text) for name, text in commands], scope=scope)
        else:
            await self.bot.delete_my_commands(scope=scope)
        return True

    async def close(self) -> None:
        if self._started:
            await self.bot.shutdown()
            self._started = False


class TelegramFiles:
    """`FileFetcher` for Telegram: getFile, then the download (the Bot API serves files up to 20 MB)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def fetch(self, file_id: str, max_bytes: int) -> bytes:
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes:
                raise FileError("file too large", too_large=True)
            data = await file.download_as_bytearray()
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise FileError("file too large", too_large=True) from None
            raise FileError(mask_text(exc.message)) from None
        except TelegramError as exc:
            raise FileError(mask_text(exc.message)) from None
        if len(data) > max_bytes:
            raise FileError("file too large", too_large=True)
        return bytes(data)
