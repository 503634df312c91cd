"""python-telegram-bot's HTTP requests over the lean Bot API client (bot/http_post.py) where it can carry them.

The answers to Telegram updates (`run` and `serve`) and `run`'s long polling go out through PTB; with PTB's
`HTTPXRequest`, httpx and httpcore were the largest cost of `serve` under load (a third of its CPU in the webhook
benchmark) and ~90 % of `run`'s (its pool of 256 connections scanned on every request). `LeanRequest`
sends the plain JSON calls (sendMessage, editMessageText, answerCallbackQuery, ...) as one write each on a pooled
keep-alive connection and gives PTB the status and body, so its error handling (RetryAfter, Forbidden, ...) is
unchanged. Uploads (multipart), GETs and anything behind a proxy go through `fallback`, an `HTTPXRequest`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.http_post import HttpError, PostClient, uses_proxy

if TYPE_CHECKING:  # how BaseRequest.do_request types its timeouts (float, None or PTB's default marker)
    from telegram._utils.types import ODVInput

TIMEOUT_S = 15.0  # a whole call, as HTTPXRequest's read timeout in build_application
CONNECT_TIMEOUT_S = 10.0
FALLBACK_CONNECTIONS = 4  # uploads and downloads: rare in the web server
# Keep-alive connections per Bot API method for answers (sendMessage, editMessageText, ...): far more than the ~30
# messages/s Telegram lets a bot send need, on any round trip under half a second.
ANSWER_CONNECTIONS = 16
POLL_CONNECTIONS = 1  # getUpdates: one long poll at a time


def lean_request(connections: int) -> LeanRequest:
    """A LeanRequest with up to `connections` keep-alive connections per method, uploads over httpx."""
    fallback = HTTPXRequest(connection_pool_size=FALLBACK_CONNECTIONS, connect_timeout=CONNECT_TIMEOUT_S,
                            read_timeout=TIMEOUT_S, write_timeout=TIMEOUT_S, pool_timeout=CONNECT_TIMEOUT_S)
    return LeanRequest(fallback, connections=connections, timeout=TIMEOUT_S)


class LeanRequest(BaseRequest):
    def __init__(self, fallback: BaseRequest, *, connections: int, timeout: float) -> None:
        self.fallback = fallback
        self.connections = connections
        self.timeout = timeout
        self._clients: dict[str, PostClient] = {}  # one per method URL (a handful: the methods the bot calls)

    @property
    def read_timeout(self) -> float | None:
        return self.fallback.read_timeout

    async def initialize(self) -> None:
        await self.fallback.initialize()

    async def shutdown(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()
        await self.fallback.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        timeouts = {"read_timeout": read_timeout, "write_timeout": write_timeout, "connect_timeout": connect_timeout,
                    "pool_timeout": pool_timeout}
        if method != "POST" or request_data is None or request_data.contains_files:
            return await self.fallback.do_request(url, method, request_data, **timeouts)
        client = self._clients.get(url)
        if client is None:
            if uses_proxy(url):
                return await self.fallback.do_request(url, method, request_data, **timeouts)
            client = self._clients[url] = PostClient(url, size=self.connections, timeout=self.timeout)
        # A call that names its read timeout (getUpdates: the long poll's seconds on top) gets it for the whole call;
        # any other (and None, which means "no limit" to httpx) gets the client's: a call here always ends.
        timeout = read_timeout if isinstance(read_timeout, int | float) else None
        try:
            return await client.post(_json_body(request_data.parameters), timeout)
        except TimeoutError as exc:
            raise TimedOut from exc  # as HTTPXRequest words it
        except (OSError, HttpError) as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc


def _json_body(parameters: Mapping[str, object]) -> bytes:
    """The call's parameters as a JSON object. A keyboard given already serialised (`markup.markup_json`, made
    once per keyboard) is embedded as the object it is, not as a string: a string is what form encoding (PTB's
    HTTPXRequest) sends, but in a JSON body the Bot API is given the object, as PTB's own JSON would have it."""
    markup = parameters.get("reply_markup")
    if not isinstance(markup, str):
        return json.dumps(parameters).encode()
    rest = json.dumps({name: value for name, value in parameters.items() if name != "reply_markup"})
    return f'{rest[:-1]}{", " if len(rest) > 2 else ""}"reply_markup": {markup}}}'.encode()
