"""A lean HTTP/1.1 client for JSON POSTs to one URL: the Bot API calls of the answers and long polling (`run`,
`serve`) and of the sender (through bot/channels/telegram/request.py), and the WhatsApp Cloud API sends
(bot/channels/whatsapp/client.py).

Why a client of our own, measured on the benchmark machine (2 shared cores; issue 16 asked for the comparison):
- per request, `python -m tests.benchmarks http-clients` (sendMessage calls, 16 at a time, the server in a process
  of its own, this client's CPU; three runs, load 1.6-3.1): this client 0.024-0.045 ms, aiohttp 3.14 (its C
  parser) 0.078-0.16 ms, 2.0-3.6 x more, httpx 1.1-2.0 ms (httpcore polls every pooled connection, with a system
  call each, on every request and every response), 33-53 x more;
- end to end, `python -m tests.benchmarks polling --bots bot,bot-aiohttp` (the real `run`, 300 chats x 5 updates at
  once, the same LeanRequest over aiohttp; two runs of 5 rounds): CPU per update 0.64-0.73 ms with this client,
  0.97-1.02 ms with aiohttp, 1.33-1.59 x (per round 1.14-1.90 x); with httpx (before issue 15) 8.3-8.5 ms.
So it stays, while it wins this clearly. It keeps up to `size` keep-alive connections, writes one pre-serialised JSON
body and returns the status and the body of the answer. It speaks only what the Bot API needs: POST, answers with
Content-Length, chunked or until close, keep-alive, TLS with httpx's certificate store (tests/admin/
test_sender_transport.py holds it to httpx's handling of 13 kinds of answer). getMe, menus, photos, downloads and
anything behind a proxy stay with PTB's httpx.

Errors: `TimeoutError` (no answer in `timeout`, the request may have been handled), `ConnectionError` /
`OSError` (refused, reset, closed before an answer) and `HttpError` (an answer that is not HTTP).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

MAX_HEAD = 64 * 1024  # bytes of status line and headers we accept
MAX_BODY = 4 * 1024 * 1024  # bytes of answer body we accept (a Message is a few hundred)
USER_AGENT = b"asisten-prakerja-sender"
_UNTIL_CLOSE = -1  # body length when the answer has neither Content-Length nor chunks: it ends with the connection


class HttpError(Exception):
    """The server's answer was not valid HTTP/1.1 (or too large)."""


def uses_proxy(url: str) -> bool:
    """True when the environment sends requests to `url` through a proxy (httpx would; this client does not)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    # no_proxy as httpx reads it (the environment only); undocumented, so typeshed does not list it
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)  # type: ignore[attr-defined]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `waiter` gets (status, body, keep_alive) of the answer to the request written."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False
        self._buffer = bytearray()
        self._reset_answer()

    def _reset_answer(self) -> None:
        self._status = 0  # 0: the head of the answer is not read yet
        self._length = 0  # body bytes expected, or _UNTIL_CLOSE; chunked: see _chunked
        self._chunked = False
        self._keep_alive = True

    # --- asyncio.Protocol -----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream connection's transport is a Transport (asyncio.Protocol's signature says BaseTransport)
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: the connection cannot be trusted
            self.abort()
            return
        self._buffer += data
        try:
            answer = self._answer(eof=False)
        except HttpError as exc:
            waiter.set_exception(exc)
            self.abort()
            return
        if answer is not None:
            waiter.set_result(answer)

    def eof_received(self) -> bool:
        self.closed = True
        self._finish_at_eof()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._finish_at_eof(exc)

    # --- the exchange ---------------------------------------------------------------------------------------
    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _finish_at_eof(self, exc: Exception | None = None) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            answer = self._answer(eof=True)
        except HttpError as error:
            waiter.set_exception(error)
            return
        if answer is not None:
            waiter.set_result(answer)
        else:
            reason = f" ({exc})" if exc else ""
            waiter.set_exception(ConnectionResetError(f"server disconnected without an answer{reason}"))

    def _answer(self, *, eof: bool) -> tuple[int, bytes, bool] | None:
        """The complete answer in the buffer (and the buffer emptied of it), or None if more bytes are needed."""
        while self._status == 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise HttpError("answer head too large")
                return None
            self._head(bytes(self._buffer[:end]))
            del self._buffer[:end + 4]
            if 100 <= self._status < 200:  # an interim answer (100 Continue): the real one follows
                self._reset_answer()
        if self._chunked:
            return self._chunks(eof)
        if self._length == _UNTIL_CLOSE:
            if len(self._buffer) > MAX_BODY:
                raise HttpError("answer too large")
            return self._take(len(self._buffer), keep_alive=False) if eof else None
        if len(self._buffer) < self._length:
            if eof:
                raise HttpError("answer cut short")
            return None
        return self._take(self._length, keep_alive=self._keep_alive)

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise HttpError(f"not an HTTP answer: {lines[0][:80]!r}")
        self._status = int(code)
        self._length = _UNTIL_CLOSE
        connection = b"keep-alive" if version == b"HTTP/1.1" else b"close"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                if not value.strip().isdigit():
                    raise HttpError("bad Content-Length")
                self._length = int(value)
                if self._length > MAX_BODY:
                    raise HttpError("answer too large")
            elif name == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif name == b"connection":
                connection = value.strip().lower()
        self._keep_alive = connection != b"close"
        if self._status in (204, 304):
            self._length, self._chunked = 0, False

    def _chunks(self, eof: bool) -> tuple[int, bytes, bool] | None:
        body = bytearray()
        at = 0
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                break
            size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpError("bad chunk size") from None
            if size == 0:  # the last chunk, then trailers up to an empty line
                trailers_end = buffer.find(b"\r\n\r\n", line_end) if buffer[line_end + 2:line_end + 4] != b"\r\n" \
                    else line_end
                if trailers_end < 0:
                    break
                status, keep_alive = self._status, self._keep_alive
                del buffer[:trailers_end + 4]
                self._reset_answer()
                return status, bytes(body), keep_alive
            if line_end + 2 + size + 2 > len(buffer):
                break
            body += buffer[line_end + 2:line_end + 2 + size]
            if len(body) > MAX_BODY:
                raise HttpError("answer too large")
            at = line_end + 2 + size + 2
        if eof:
            raise HttpError("chunked answer cut short")
        return None

    def _take(self, n: int, *, keep_alive: bool) -> tuple[int, bytes, bool]:
        answer = self._status, bytes(self._buffer[:n]), keep_alive
        del self._buffer[:n]
        self._reset_answer()
        return answer


class PostClient:
    """POSTs JSON bodies to one Bot API URL over at most `size` keep-alive connections, each within `timeout`."""

    def __init__(self, url: str, *, size: int, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        self.timeout = timeout
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = httpx.create_ssl_context() if parts.scheme == "https" else None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]  # no credentials in the Host header
        if any("\r" in text or "\n" in text for item in (headers or {}).items() for text in item):
            raise ValueError("a header name or value holds a line break")
        self._head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + b"User-Agent: " + USER_AGENT
                      + b"".join(f"\r\n{name}: {value}".encode() for name, value in (headers or {}).items())
                      + b"\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: ")
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(self, body: bytes, within: float | None = None) -> tuple[int, bytes]:
        """(HTTP status, body) of the answer within `within` seconds (default: the client's timeout); raises
        TimeoutError, OSError or HttpError (see the module)."""
        async with asyncio.timeout(self.timeout if within is None else within), self._slots:
            connection = self._idle_connection() or await self._connect()
            loop = asyncio.get_running_loop()
            connection.waiter = waiter = loop.create_future()
            try:
                assert connection.transport is not None
                connection.transport.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
                status, payload, keep_alive = await waiter
            except BaseException:  # timed out, cancelled, broken: the connection's state is unknown
                connection.abort()
                raise
            finally:
                connection.waiter = None
            if keep_alive and not connection.closed and not self._closed:
                self._idle.append(connection)
            else:
                connection.abort()
            return status, payload

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the least likely to have been closed
            if not connection.closed:
                return connection
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            _Connection, self._host, self._port, ssl=self._ssl, server_hostname=self._host if self._ssl else None)
        return connection

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            if connection.transport is not None:
                connection.transport.close()
