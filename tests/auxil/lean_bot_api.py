"""A lean fake Telegram Bot API for load benchmarks: HTTP/1.1 on an asyncio protocol, no web framework.

tests/auxil/fake_bot_api.py (Starlette + uvicorn, HTML checks, faults) is the fake for correctness tests; under a
burst of a thousand updates a second its own CPU (~0.4 ms a request: uvicorn/h11, Starlette routing, the HTML
parser) made it the slowest party of the benchmark. This one answers the calls a bot makes while it long-polls and
answers (getMe, getUpdates, sendMessage, edits, deletions, callback answers, command menus) with Telegram-shaped
results, for any number of bots at once (one state per token), and records what each chat received, in order.

    api = await LeanBotApi.start()          # 127.0.0.1, a free port; api.base_url = "http://127.0.0.1:P/bot"
    bot = api.bot("123:TOKEN")              # one bot's state: push updates, read what it sent
    bot.push([update, ...])                 # queued for getUpdates (update_id assigned if missing); wakes polls
    bot.received[chat_id]                   # texts sent or edited into that chat, in order
    bot.calls                               # Counter of methods called
    bot.on_text = callback                  # called (chat_id, text, monotonic time) for every text received
    api.requests, api.cpu()                 # requests answered; this process's CPU seconds (the fake's cost)
    await api.stop()

Bodies are read as Telegram reads them: JSON, `application/x-www-form-urlencoded` (python-telegram-bot over
httpx, aiogram over aiohttp) or `multipart/form-data`, values JSON-decoded where they are JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.auxil.fake_bot_api import bot_user

MAX_POLL_WAIT = 1.0  # seconds a getUpdates waits for news at most (the bot asks for more: it polls again sooner)
MAX_REQUEST = 1024 * 1024  # bytes of head + body accepted
_TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
_MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"})
_STRING_FIELDS = frozenset({"text", "caption", "parse_mode", "callback_query_id", "language_code"})


@dataclass
class BotState:
    """One token's updates and what its bot sent."""

    token: str
    username: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    received: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    calls: Counter[str] = field(default_factory=Counter)
    on_text: Callable[[int, str, float], None] | None = None
    polls: int = 0  # getUpdates calls answered
    last_update_id: int = 0
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_001))
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def push(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            if "update_id" not in update:
                update = {**update, "update_id": self.last_update_id + 1}
            self.last_update_id = max(self.last_update_id, update["update_id"])
            self.updates.append(update)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def next_update_id(self) -> int:
        return self.last_update_id + 1

    @property
    def pending(self) -> int:
        """Updates queued and not yet confirmed by a later getUpdates offset."""
        return len(self.updates)

    def me(self) -> dict[str, Any]:
        return bot_user(int(self.token.split(":", 1)[0]), self.username)


class LeanBotApi:
    def __init__(self) -> None:
        self.bots: dict[str, BotState] = {}
        self.requests = 0
        self.unknown: Counter[str] = Counter()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @classmethod
    async def start(cls) -> LeanBotApi:
        api = cls()
        loop = asyncio.get_running_loop()
        api._server = await loop.create_server(lambda: _Connection(api), "127.0.0.1", 0)
        api.port = api._server.sockets[0].getsockname()[1]
        return api

    async def stop(self) -> None:
        for state in self.bots.values():
            state.push([])  # long polls answer now
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def api_root(self) -> str:
        """Where the bot API lives (aiogram's `TelegramAPIServer.from_base`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's `base_url` (the token is appended)."""
        return f"{self.api_root}/bot"

    def bot(self, token: str, username: str = "BenchBot") -> BotState:
        state = self.bots.get(token)
        if state is None:
            state = self.bots[token] = BotState(token, username)
        return state

    @staticmethod
    def cpu() -> float:
        return time.process_time()

    # --- the calls -------------------------------------------------------------------------------------------
    async def poll(self, token: str, params: dict[str, Any]) -> tuple[int, Any]:
        """getUpdates: the updates from `offset`, after waiting (bounded) for some if there are none."""
        state = self.bots.get(token)
        if state is None:
            return 401, "Unauthorized"
        state.calls["getUpdates"] += 1
        return 200, await self._get_updates(state, params)

    def call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Any other method: answered at once."""
        state = self.bots.get(token)
        if state is None:
            return 401, "Unauthorized"
        state.calls[method] += 1
        if method in _MESSAGE_METHODS:
            return 200, self._message(state, method, params)
        if method == "getMe":
            return 200, state.me()
        if method in ("deleteMessage", "answerCallbackQuery", "setMyCommands", "deleteMyCommands", "deleteWebhook",
                      "setWebhook", "close"):
            return 200, True
        if method == "getMyCommands":
            return 200, []
        self.unknown[method] += 1
        return 404, "Not Found: method not found"

    async def _get_updates(self, state: BotState, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
        if not state.updates:
            wait = min(float(params.get("timeout") or 0), MAX_POLL_WAIT)
            if wait > 0:
                waiter = asyncio.get_running_loop().create_future()
                state._waiters.append(waiter)
                try:
                    await asyncio.wait_for(waiter, wait)
                except TimeoutError:
                    pass
        state.polls += 1
        return state.updates[:int(params.get("limit") or 100)]

    def _message(self, state: BotState, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        text = params.get("text")
        if method in _TEXT_METHODS:
            text = str(text or "")
            state.received[chat_id].append(text)
            if state.on_text is not None:
                state.on_text(chat_id, text, time.monotonic())
        message_id = int(params.get("message_id") or next(state._message_ids))
        message: dict[str, Any] = {"message_id": message_id, "from": state.me(), "date": int(time.time()),
                                   "chat": {"id": chat_id, "type": "private", "first_name": "Pemohon"}}
        if text is not None:
            message["text"] = text
        return message


class _Connection(asyncio.Protocol):
    """One client connection: requests one after another (no pipelining), each answered in order."""

    def __init__(self, api: LeanBotApi) -> None:
        self.api = api
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        request = self._request()
        if request is None:
            return
        path, headers, body = request
        token, method = _route(path)
        if token is None:
            self._answer(404, "Not Found")
            return
        try:
            params = _params(path, headers.get(b"content-type", b""), body)
        except ValueError as exc:
            self._answer(400, f"Bad Request: {exc}")
            return
        self.busy = True
        if method == "getUpdates":  # may wait: answered when done, other connections go on meanwhile
            task = asyncio.get_running_loop().create_task(self._poll(token, params))
            self.api._tasks.add(task)
            task.add_done_callback(self.api._tasks.discard)
        else:
            self._done(*self.api.call(token, method, params))

    async def _poll(self, token: str, params: dict[str, Any]) -> None:
        self._done(*await self.api.poll(token, params))

    def _done(self, status: int, result: Any) -> None:
        self.busy = False
        self.api.requests += 1
        self._answer(status, result)
        if self.buffer:
            self._next()

    def _request(self) -> tuple[bytes, dict[bytes, bytes], bytes] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_REQUEST:
                self._close()
            return None
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self._close()
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"chunked" in headers.get(b"transfer-encoding", b""):
            raise RuntimeError("chunked request bodies are not spoken here")
        length = int(headers.get(b"content-length", b"0"))
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        return parts[1], headers, body

    def _answer(self, status: int, result: Any) -> None:
        if self.transport is None:
            return
        if status == 200:
            body = json.dumps({"ok": True, "result": result}, separators=(",", ":")).encode()
        else:
            body = json.dumps({"ok": False, "error_code": status, "description": str(result)}).encode()
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: keep-alive\r\n\r\n%s" % (status, b"OK" if status == 200 else b"Error",
                                                                    len(body), body))

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _route(path: bytes) -> tuple[str | None, str]:
    """`/bot<token>/<method>` -> (token, method)."""
    text = urlsplit(path.decode("latin-1")).path
    if not text.startswith("/bot"):
        return None, ""
    token, _, method = text[4:].partition("/")
    return (token, method) if method else (None, "")


def _params(path: bytes, kind: bytes, body: bytes) -> dict[str, Any]:
    query = urlsplit(path.decode("latin-1")).query
    raw: dict[str, Any] = dict(parse_qsl(query)) if query else {}
    if kind.startswith(b"application/json"):
        if body:
            raw.update(json.loads(body))
        return raw
    if kind.startswith(b"application/x-www-form-urlencoded"):
        raw.update(parse_qsl(body.decode()))
    elif kind.startswith(b"multipart/form-data"):
        raw.update(_multipart(kind, body))
    return {key: _decode(key, value) for key, value in raw.items()}


def _multipart(kind: bytes, body: bytes) -> dict[str, str]:
    boundary = kind.split(b"boundary=", 1)[1].strip(b'"')
    fields = {}
    for part in body.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        marker = head.find(b'name="')
        if marker < 0:
            continue
        name = head[marker + 6:head.index(b'"', marker + 6)].decode()
        fields[name] = value.removesuffix(b"\r\n").decode(errors="replace")
    return fields


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def serve(tokens: list[str]) -> None:
    """Serve `tokens` until SIGTERM/SIGINT; prints the port first (a server process of its own for benchmarks)."""
    import signal

    api = await LeanBotApi.start()
    for token in tokens:
        api.bot(token)
    print(api.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await api.stop()


if __name__ == "__main__":
    import sys

    asyncio.run(serve(sys.argv[1:]))
