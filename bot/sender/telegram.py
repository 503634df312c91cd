"""The Telegram transport of the sender, and downloads of files users sent (admin CSV uploads).

Its own `Bot` (own connection pool, no AIORateLimiter) at `TELEGRAM_API_URL`: a flood wait here pauses the
broadcast path only; the channel's Application keeps answering applicants.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram.application import file_url
from bot.channels.telegram.delivery import retry_seconds
from bot.channels.telegram.markup import Markup, Part, inline_keyboard, parts
from bot.http_post import HttpError, PostClient, uses_proxy
from bot.logs import mask_text
from bot.sender.transport import Outcome, OutcomeKind, Recipient
from handlers.api import FileError, Reply
from handlers.roles import Channel

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # Telegram: at most one message per second to one chat
SEND_TIMEOUT = 10.0  # seconds; the sender's lease must be longer
MARKUP_CACHE = 256  # serialised keyboards kept (a broadcast has one or two distinct ones)


def outcome_of(exc: TelegramError) -> Outcome:
    """What a Bot API error means for a delivery (both send paths: PTB's and the lean one)."""
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


def answer_error(status: int, payload: bytes) -> TelegramError:
    """The error python-telegram-bot raises for a Bot API answer that is not 2xx (its `BaseRequest`, 22.x)."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        data = None
        message += f". Parsing the server response {payload!r} failed"
    if isinstance(data, dict):
        message = data.get("description") or message
        parameters = data.get("parameters")
        if parameters:
            if parameters.get("migrate_to_chat_id"):
                return ChatMigrated(parameters["migrate_to_chat_id"])
            if parameters.get("retry_after"):
                return RetryAfter(parameters["retry_after"])
            message += f". The server response contained unknown parameters: {parameters}"
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)


def answer_outcome(status: int, payload: bytes) -> Outcome:
    """The outcome of one lean send from the Bot API's answer, as the PTB path would see it."""
    if not 200 <= status <= 299:
        return outcome_of(answer_error(status, payload))
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return outcome_of(TelegramError("Invalid server response"))
    result = data.get("result") if isinstance(data, dict) else None
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return Outcome.sent(str(message_id) if message_id is not None else None)


class TelegramTransport:
    channel = Channel.TELEGRAM
    per_chat_interval = PER_CHAT_INTERVAL

    def __init__(self, token: str, api_url: str, *, rate: float, concurrency: int,
                 timeout: float = SEND_TIMEOUT, lean: bool = True) -> None:
        self.rate: float | None = rate
        request = HTTPXRequest(connection_pool_size=concurrency + 2, connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout, pool_timeout=timeout)
        self.bot = Bot(token, base_url=api_url, base_file_url=file_url(api_url), request=request,
                       get_updates_request=HTTPXRequest(connection_pool_size=1))
        self._started = False
        self._concurrency = concurrency
        self._timeout = timeout
        # Text messages go through the lean client (bot/http_post.py), unless a proxy is configured.
        self.lean = lean and not uses_proxy(api_url)
        self._client: PostClient | None = None
        self._markups: dict[int, tuple[Markup, str]] = {}  # id(markup) -> (markup, its JSON)

    async def start(self) -> None:
        if not self._started:
            try:
                await self.bot.initialize()  # getMe: the token works and the API answers
            except InvalidToken:
                raise RuntimeError("Telegram refused TELEGRAM_BOT_TOKEN") from None
            if self.lean:
                self._client = PostClient(f"{self.bot.base_url}/sendMessage", size=self._concurrency,
                                            timeout=self._timeout)
            self._started = True

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome:
        chat_id = int(recipient.chat_id) if recipient.chat_id.lstrip("-").isdigit() else None
        if chat_id is None:
            return Outcome.failed("malformed Telegram chat id")
        if self._client is not None and not reply.photo:
            return await self._send_lean(self._client, chat_id, reply)
        try:
            if reply.photo:
                message = await self.bot.send_photo(chat_id, reply.photo, caption=reply.text,
                                                    parse_mode=ParseMode.HTML, reply_markup=inline_keyboard(reply))
            else:
                message = None
                for part in parts(reply):  # one part: the composer keeps texts under the limit
                    message = await self.bot.send_message(chat_id, part.text, parse_mode=ParseMode.HTML,
                                                          reply_markup=part.markup)
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent(str(message.message_id) if message is not None else None)

    async def _send_lean(self, client: PostClient, chat_id: int, reply: Reply) -> Outcome:
        outcome = Outcome.sent(None)
        for part in parts(reply):
            try:
                status, payload = await client.post(self._body(chat_id, part))
            except TimeoutError:  # the request may have reached Telegram: as PTB's TimedOut
                return outcome_of(TimedOut())
            except (OSError, HttpError) as exc:  # refused, reset, not HTTP: as PTB's NetworkError
                return outcome_of(NetworkError(f"{type(exc).__name__}: {exc}"))
            outcome = answer_outcome(status, payload)
            if outcome.kind is not OutcomeKind.SENT:
                return outcome
        return outcome

    def _body(self, chat_id: int, part: Part) -> bytes:
        """sendMessage's JSON body: what PTB's send_message sends for these arguments."""
        text = json.dumps(part.text, ensure_ascii=False)
        body = f'{{"chat_id":{chat_id},"text":{text},"parse_mode":"HTML"'
        if part.markup is not None:
            body += f',"reply_markup":{self._markup_json(part.markup)}'
        return (body + "}").encode()

    def _markup_json(self, markup: Markup) -> str:
        cached = self._markups.get(id(markup))
        if cached is not None and cached[0] is markup:
            return cached[1]
        text = json.dumps(markup.to_dict(), ensure_ascii=False, separators=(",", ":"))
        if len(self._markups) >= MARKUP_CACHE:
            self._markups.clear()
        self._markups[id(markup)] = (markup, text)  # holding the markup keeps its id from being reused
        return text

    async def set_menu(self, user_id: str, commands: list[tuple[str, str]] | None) -> bool:
        scope = BotCommandScopeChat(int(user_id))  # a private chat's id is the user's id
        if commands:
            await self.bot.set_my_commands([BotCommand(name, text) for name, text in commands], scope=scope)
        else:
            await self.bot.delete_my_commands(scope=scope)
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
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
