"""A fake Telegram Bot API server on loopback: real HTTP (starlette + uvicorn), records every call.

Usage (any HTTP client works; python-telegram-bot needs `base_url=api.base_url`, `base_file_url=api.base_file_url`)::

    async with FakeBotApi() as api:                  # starts on 127.0.0.1, a free port
        api.base_url                                 # "http://127.0.0.1:PORT/bot" (the token is appended)
        api.token                                    # the only token it accepts (others get 401)
        ...run the bot...
        api.calls                                    # every call, in order: Call(method, params, at, chat_id,
                                                     #   status, result)
        api.calls_to("sendMessage", chat_id=42)      # filtered
        api.texts(42)                                # texts sent or edited into chat 42, in order
        await api.wait_for("sendMessage", count=3)   # wait (bounded) until that many calls were answered OK

Updates for long polling: `api.push_update({...})` queues an update dict (update_id assigned if missing);
getUpdates answers with the queue from `offset`, waiting up to its `timeout` (capped by `max_poll_wait`).
Files: `api.add_file(file_id, b"...")` makes getFile and the download work; `size=` makes getFile report another
file_size (a 50 MB upload without 50 MB of test data).

Faults (first matching rule wins; `times=None` = for ever; `method`/`chat_id` None = any):
    api.too_many_requests(retry_after=3, method="sendMessage", chat_id=42, times=1)   # 429 + parameters.retry_after
    api.server_error(status=502, times=2)                                            # 500 / 502
    api.blocked(chat_id=42)                        # 403 "Forbidden: bot was blocked by the user"
    api.slow(0.5, method="sendMessage")            # answer normally, after a delay (past the client's timeout: it
                                                   #   times out, while the server still handles the call)
    api.reset_connection(method="sendMessage")     # drop the connection without an answer (Call.status NO_ANSWER)
    api.garbage(method="sendMessage")              # answer 200 with a body that is not JSON (Call.status GARBAGE)
    api.inject(status=400, description="Bad Request: chat not found", chat_id=7)     # anything else
    api.rate_limit(per_second=30, per_chat=1)      # 429 beyond a global (and/or per-chat) send rate
    api.kicked(chat_id=-100123)                   # 403 "bot was kicked from the supergroup chat" for that chat
    api.clear_faults()

Realism: results are Telegram-shaped (Message objects with message_id, chat, date, text, reply_markup), HTML
text is checked like Telegram does (unknown tags, unbalanced tags: 400 "can't parse entities"), a text over
4096 characters or empty gets 400, callback_data over 64 bytes gets 400 BUTTON_DATA_INVALID, an edit that
changes nothing gets 400 "message is not modified". Form fields are JSON-decoded the way the Bot API does.

Forum topics (the support desk, issue 8): createForumTopic registers a topic; a message with `message_thread_id`
to a chat with topics must name a live one (else 400 "message thread not found"), and is stored with it.
    api.topics[chat_id]                            # thread id -> Topic(name, closed, deleted)
    api.delete_topic(chat_id, thread_id)           # a member deleted it
    api.in_topic(chat_id, thread_id)               # the successful sends into that topic, in order
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.auxil.loopback import LoopbackServer

DEFAULT_TOKEN = "123456789:TEST-fake-token-for-loopback"
BOT_USERNAME = "AsistenPrakerjaBot"
MAX_TEXT_LENGTH = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH (no `telegram` import: any client)
MAX_CALLBACK_DATA = 64  # telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
# Methods that deliver a message to a chat: counted by `rate_limit`, listed by `sent`.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"})
# Form fields that are plain strings even when they look like JSON ("123" as a text stays a string).
_STRING_FIELDS = frozenset({"text", "caption", "url", "callback_query_id", "name", "parse_mode", "language_code",
                            "file_id", "secret_token", "description", "short_description", "photo", "document"})
# Call.status of the faults that give no HTTP answer a client can read: the request was not handled.
NO_ANSWER = 0  # the connection was dropped
GARBAGE = 1  # an answer that is not JSON
_GARBAGE_BODY = b"<html><body>upstream sent an invalid response</body></html>{\"ok\": tr"
# uvicorn's connection transport of the request being answered (set by FakeBotApi._asgi), to drop it on a reset.
_transport: contextvars.ContextVar[Any] = contextvars.ContextVar("fake_bot_api_transport", default=None)
_HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                        "tg-spoiler", "span", "blockquote", "tg-emoji"})


@dataclass(slots=True)
class Topic:
    name: str
    closed: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the call arrived
    chat_id: int | str | None
    status: int = 200  # what the server answered (429, 403, ... for an injected fault)
    result: Any = None  # the `result` answered when status is 200 (e.g. the Message dict, with its message_id)


@dataclass(slots=True)
class Fault:
    method: str | None
    chat_id: int | str | None
    status: int | None  # None: no error, only the delay
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    times: int | None = 1

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


@dataclass(slots=True)
class _RateLimit:
    per_second: float | None
    per_chat: float | None
    retry_after: int
    recent: deque[tuple[float, str]] = field(default_factory=deque)
    # Sends per chat within `recent`, kept with it: the check is O(1), not a scan of the last second's sends
    # (at 1,000 msg/s the scan made this fake server a bottleneck of the broadcast benchmark).
    per_chat_recent: Counter[str] = field(default_factory=Counter)

    def allows(self, chat_id: object, now: float) -> bool:
        while self.recent and now - self.recent[0][0] >= 1.0:
            _, gone = self.recent.popleft()
            self.per_chat_recent[gone] -= 1
            if not self.per_chat_recent[gone]:
                del self.per_chat_recent[gone]
        if self.per_second is not None and len(self.recent) >= self.per_second:
            return False
        key = str(chat_id)
        if self.per_chat is not None and self.per_chat_recent[key] >= self.per_chat:
            return False
        self.recent.append((now, key))
        self.per_chat_recent[key] += 1
        return True


class FakeBotApi:
    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = BOT_USERNAME, max_poll_wait: float = 1.0):
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.max_poll_wait = max_poll_wait
        self.calls: list[Call] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # language_code ("" = default) -> setMyCommands list
        # Menus for one chat (scope BotCommandScopeChat): chat id -> setMyCommands list (admin helper, additive).
        self.chat_commands: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.file_sizes: dict[str, int] = {}  # file_id -> the file_size getFile reports, when not len(content)
        self.downloads: list[str] = []  # file paths downloaded, in order
        self.faults: list[Fault] = []
        self.webhook_url = ""
        self.topics: dict[str, dict[int, Topic]] = {}  # forum topics per chat id (issue 8)
        self._limit: _RateLimit | None = None
        self._held: set[str] = set()  # methods whose calls wait, unanswered, until `release`
        self._release = asyncio.Event()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1001)
        self._messages: dict[tuple[str, int], dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: LoopbackServer | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> FakeBotApi:
        self._app = Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ])

        async def asgi(scope: Any, receive: Any, send: Any) -> None:  # a function: uvicorn detects ASGI 3 by it
            await self._asgi(scope, receive, send)

        self._server = await LoopbackServer.start(asgi)
        self.port = self._server.port
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        async with self._changed:  # long polls return now
            self._changed.notify_all()
        await server.stop()

    async def _asgi(self, scope: Any, receive: Any, send: Any) -> None:
        """The outermost ASGI app: remembers the connection's transport (uvicorn's `send` is bound to it)."""
        token = _transport.set(getattr(getattr(send, "__self__", None), "transport", None))
        try:
            await self._app(scope, receive, send)
        finally:
            _transport.reset(token)

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what a test programs -------------------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return update["update_id"]

    def add_file(self, file_id: str, content: bytes, file_name: str = "file.bin", *, size: int | None = None) -> None:
        self.files[file_id] = (f"documents/{file_id}/{file_name}", content)
        if size is not None:
            self.file_sizes[file_id] = size

    def inject(self, method: str | None = None, chat_id: int | str | None = None, *, status: int | None,
               description: str = "", retry_after: int | None = None, delay: float = 0.0,
               times: int | None = 1) -> Fault:
        fault = Fault(method, chat_id, status, description, retry_after, delay, times)
        self.faults.append(fault)
        return fault

    def too_many_requests(self, retry_after: int = 1, method: str | None = None, chat_id: int | str | None = None,
                          times: int | None = 1) -> Fault:
        return self.inject(method, chat_id, status=429, retry_after=retry_after, times=times,
                           description=f"Too Many Requests: retry after {retry_after}")

    def server_error(self, status: int = 500, method: str | None = None, chat_id: int | str | None = None,
                     times: int | None = 1) -> Fault:
        text = "Internal Server Error" if status == 500 else "Bad Gateway"
        return self.inject(method, chat_id, status=status, description=text, times=times)

    def reset_connection(self, method: str | None = None, chat_id: int | str | None = None,
                         times: int | None = 1) -> Fault:
        """Drop the connection without answering (the client sees a reset / 'server disconnected')."""
        return self.inject(method, chat_id, status=NO_ANSWER, description="connection reset", times=times)

    def garbage(self, method: str | None = None, chat_id: int | str | None = None, times: int | None = 1) -> Fault:
        """Answer 200 with a body that is not JSON (a broken proxy); the call is not handled."""
        return self.inject(method, chat_id, status=GARBAGE, description="garbage JSON", times=times)

    def blocked(self, chat_id: int | str, method: str | None = None, times: int | None = None) -> Fault:
        return self.inject(method, chat_id, status=403, description="Forbidden: bot was blocked by the user",
                           times=times)

    def slow(self, seconds: float, method: str | None = None, chat_id: int | str | None = None,
             times: int | None = None) -> Fault:
        return self.inject(method, chat_id, status=None, delay=seconds, times=times)

    def hold(self, method: str) -> None:
        """Calls of `method` wait unanswered (and are not recorded) until `release`, which drops them: a bot killed
        meanwhile never got an answer through."""
        self._held.add(method)
        self._release.clear()

    def release(self) -> None:
        self._held.clear()
        self._release.set()

    def kicked(self, chat_id: int | str, times: int | None = None) -> Fault:
        """The bot was removed from a group: every call about it gets 403 (remove the fault to add it back)."""
        return self.inject(None, chat_id, status=403, description="Forbidden: bot was kicked from the supergroup chat",
                           times=times)

    def delete_topic(self, chat_id: int | str, thread_id: int) -> None:
        self.topics[str(chat_id)][thread_id].deleted = True

    def in_topic(self, chat_id: int | str, thread_id: int) -> list[Call]:
        return [c for c in self.sent(chat_id) if c.params.get("message_thread_id") == thread_id]

    def rate_limit(self, per_second: float | None = None, *, per_chat: float | None = None,
                   retry_after: int = 1) -> None:
        """Answer 429 to message sends beyond `per_second` overall / `per_chat` per chat, in any 1 s window."""
        self._limit = _RateLimit(per_second, per_chat, retry_after) if per_second or per_chat else None

    def clear_faults(self) -> None:
        self.faults.clear()
        self._limit = None

    # --- what a test reads ----------------------------------------------------------------------------------
    def calls_to(self, method: str | None = None, chat_id: int | str | None = None, *, ok: bool | None = None
                 ) -> list[Call]:
        return [c for c in self.calls
                if (method is None or c.method == method)
                and (chat_id is None or str(c.chat_id) == str(chat_id))
                and (ok is None or (c.status == 200) == ok)]

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """Successful sendMessage/sendPhoto/... and editMessageText calls, in order."""
        return [c for c in self.calls_to(chat_id=chat_id, ok=True)
                if c.method in SEND_METHODS or c.method == "editMessageText"]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        return [str(c.params.get("text") or c.params.get("caption") or "") for c in self.sent(chat_id)]

    async def wait_for(self, method: str | Callable[[Call], bool], count: int = 1, within: float = 5.0
                       ) -> list[Call]:
        """Wait until `count` successful calls match (a method name or a predicate); return them."""
        def matching() -> list[Call]:
            test = method if callable(method) else (lambda c: c.method == method)
            return [c for c in self.calls if c.status == 200 and test(c)]

        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    # --- HTTP -----------------------------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        arrived = time.monotonic()
        params = await _params(request)
        if method in self._held:  # never answered, never recorded: the caller is killed meanwhile
            await self._release.wait()
            return _reset()
        chat_id = params.get("chat_id")
        status, result, retry_after, description = 200, None, None, ""
        fault = next((f for f in self.faults if f.matches(method, chat_id)), None)
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                status, description, retry_after = fault.status, fault.description, fault.retry_after
        if status == 200 and method in SEND_METHODS and self._limit and not self._limit.allows(chat_id, arrived):
            status, retry_after = 429, self._limit.retry_after
            description = f"Too Many Requests: retry after {retry_after}"
        if status == 200:
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                status, description = 404, "Not Found: method not found"
            else:
                try:
                    result = await handler(params)
                except _ApiError as exc:
                    status, description = 400, f"Bad Request: {exc}"
        self.calls.append(Call(method, params, arrived, chat_id, status, result))
        await self._notify()
        if status == 200:
            return JSONResponse({"ok": True, "result": result})
        if status == NO_ANSWER:
            return _reset()
        if status == GARBAGE:
            return Response(_GARBAGE_BODY, media_type="application/json")
        if status == 502:  # what nginx in front of the Bot API answers
            return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502,
                            media_type="text/html")
        return _error(status, description, retry_after)

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        self.downloads.append(request.path_params["path"])
        for path, content in self.files.values():
            if path == request.path_params["path"]:
                return Response(content, media_type="application/octet-stream")
        return _error(404, "Not Found")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- methods (named _m_<method>) ------------------------------------------------------------------------
    def _me(self) -> dict[str, Any]:
        return bot_user(self.bot_id, self.username)

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._me()

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = params.get("scope")
        if isinstance(scope, dict) and scope.get("type") == "chat":
            self.chat_commands[str(scope.get("chat_id"))] = list(params.get("commands", []))
            return True
        self.commands[params.get("language_code", "")] = list(params.get("commands", []))
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        scope = params.get("scope")
        if isinstance(scope, dict) and scope.get("type") == "chat":
            self.chat_commands.pop(str(scope.get("chat_id")), None)
            return True
        self.commands.pop(params.get("language_code", ""), None)
        return True

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(params.get("language_code", ""), [])

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _checked_text(params.get("text", ""), params.get("parse_mode"))
        return self._store(params, text=text)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, photo=[{"file_id": "photo-1", "file_unique_id": "p1", "width": 1, "height": 1}],
                           caption=params.get("caption"))

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, document={"file_id": "doc-1", "file_unique_id": "d1"},
                           caption=params.get("caption"))

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        text = _checked_text(params.get("text", ""), params.get("parse_mode"))
        old = self._messages.get((str(params.get("chat_id")), int(params.get("message_id", 0))))
        if old is not None and old.get("raw") == params.get("text") and \
                old.get("reply_markup") == params.get("reply_markup"):
            raise _ApiError("message is not modified: specified new message content and reply markup are exactly"
                            " the same as a current content and reply markup of a message")
        return self._store(params, text=text, message_id=int(params.get("message_id", 0)), edited=True)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        key = (str(params.get("chat_id")), int(params.get("message_id", 0)))
        old = self._messages.get(key, {})
        params = {**params, "text": old.get("raw", "")}
        return self._store(params, text=old.get("text"), message_id=key[1], edited=True)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        self._messages.pop((str(params.get("chat_id")), int(params.get("message_id", 0))), None)
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise _ApiError("invalid file_id")
        path, content = self.files[file_id]
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                "file_size": self.file_sizes.get(file_id, len(content)), "file_path": path}

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        if not self._updates and wait > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait), self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates) or self._server is None)
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url", ""))
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _m_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**_chat(params.get("chat_id")), "accent_color_id": 0, "max_reaction_count": 11}

    async def _m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("name", ""))
        if not 1 <= len(name) <= 128:  # telegram.constants.ForumTopicLimit
            raise _ApiError("TOPIC_NAME_INVALID")
        thread = next(self._message_ids)
        self.topics.setdefault(str(params.get("chat_id")), {})[thread] = Topic(name)
        return {"message_thread_id": thread, "name": name, "icon_color": int(params.get("icon_color") or 7322096)}

    def _topic(self, params: dict[str, Any]) -> Topic:
        topic = self.topics.get(str(params.get("chat_id")), {}).get(int(params.get("message_thread_id") or 0))
        if topic is None or topic.deleted:
            raise _ApiError("message thread not found")
        return topic

    async def _m_closeForumTopic(self, params: dict[str, Any]) -> bool:
        self._topic(params).closed = True
        return True

    async def _m_reopenForumTopic(self, params: dict[str, Any]) -> bool:
        self._topic(params).closed = False
        return True

    async def _m_deleteForumTopic(self, params: dict[str, Any]) -> bool:
        self._topic(params).deleted = True
        return True

    def _store(self, params: dict[str, Any], *, message_id: int | None = None, edited: bool = False,
               **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError("chat not found")
        markup = params.get("reply_markup")
        _check_markup(markup)
        if params.get("message_thread_id") and str(chat_id) in self.topics:
            self._topic(params)  # a deleted or unknown topic: 400
        message: dict[str, Any] = {"message_id": message_id or next(self._message_ids), "from": self._me(),
                                   "chat": _chat(chat_id), "date": int(time.time())}
        if params.get("message_thread_id"):
            message.update(message_thread_id=params["message_thread_id"], is_topic_message=True)
        message.update({k: v for k, v in content.items() if v is not None})
        if edited:
            message["edit_date"] = int(time.time())
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(str(chat_id), message["message_id"])] = {**message, "raw": params.get("text"),
                                                                 "reply_markup": markup}
        return message


def bot_user(bot_id: int, username: str) -> dict[str, Any]:
    """The bot's own User, as getMe answers it."""
    return {"id": bot_id, "is_bot": True, "first_name": "Asisten Prakerja", "username": username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


class _ApiError(Exception):
    """A 400 Bad Request with this description."""


def _reset() -> Response:
    """Drop the connection now; the response returned is never sent (writes to an aborted transport are dropped)."""
    transport = _transport.get()
    if transport is not None:
        transport.abort()
        return Response(b"")
    # Not under uvicorn: promise more than is sent, which a client also reads as a broken connection.
    return Response(b"{", headers={"content-length": "64"})


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


def _chat(chat_id: object) -> dict[str, Any]:
    number = int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0
    if number > 0:
        return {"id": number, "type": "private", "first_name": "Pemohon"}
    return {"id": number, "type": "supergroup" if str(number).startswith("-100") else "group", "title": "Grup"}


async def _params(request: Request) -> dict[str, Any]:
    """Bot API parameters from a query string, JSON body, urlencoded or multipart form (values JSON-encoded)."""
    raw: dict[str, Any] = dict(request.query_params)
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = await request.body()
        raw.update(json.loads(body) if body else {})
        return raw
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:  # closes uploaded files
            for key, value in form.multi_items():
                raw[key] = value if isinstance(value, str) else {"file_name": value.filename, "size": value.size}
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if len(str(button.get("callback_data", "")).encode()) > MAX_CALLBACK_DATA:
                raise _ApiError("BUTTON_DATA_INVALID")


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.chars = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _ApiError(f"can't parse entities: Unsupported start tag \"{tag}\"")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise _ApiError(f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\"")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.chars += len(data)


def _checked_text(text: Any, parse_mode: Any) -> str:
    """The text as Telegram would show it; 400 for empty, too long or malformed HTML."""
    text = str(text)
    shown = text
    if str(parse_mode).upper() == "HTML":
        check = _HtmlCheck()
        check.feed(text)
        check.close()
        if check.open:
            raise _ApiError(f"can't parse entities: Can't find end tag corresponding to start tag \"{check.open[-1]}\"")
        shown = _plain(text)
    if not shown.strip():
        raise _ApiError("message text is empty")
    if len(shown) > MAX_TEXT_LENGTH:
        raise _ApiError("message is too long")
    return shown


def _plain(text: str) -> str:
    parts: list[str] = []
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_data = parts.append  # type: ignore[method-assign]
    parser.feed(text)
    parser.close()
    return "".join(parts)
