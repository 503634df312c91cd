"""What one client may cost the web server: body size, time to send a request, connections (issue 14.2).

Without these, anyone who knows the URL, with no secret, could exhaust the process before a webhook's signature is
checked: six 300 MB bodies were read whole into memory (78 MB -> 2.05 GB), and 1,000 requests whose bodies never
finished held 1,000 sockets until the file descriptors ran out and /healthz stopped answering.

- `BodyLimit` (ASGI middleware, every route): a declared Content-Length over `MAX_BODY_BYTES` is refused with 413
  before a byte of the body is read; a streamed (chunked) body is refused as soon as it passes the limit. The
  body is read here, whole, and handed to the route; a client that hangs up mid-body costs one counted line, not
  a traceback. Each refusal closes the connection (`Connection: close`), so nothing more is read from it.
- `GuardedH11Protocol` (uvicorn's h11 protocol, subclassed): a request must arrive whole, head and body, within
  `read_timeout` of the connection opening (or of the previous response, on a kept-alive connection), else the
  connection is closed. At most `max_connections` are open: a new one beyond that closes the connection that has
  been *reading* longest (a slow or idle client; requests being answered are never cut), or, when every
  connection is busy answering, is itself answered 503. So a flood of slow clients only displaces itself, and a
  quick request such as /healthz still gets through.

Webhook bodies are small (a Telegram update, a Meta batch of messages and status callbacks: a few KB), so 1 MB is
generous for both platforms.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # both platforms' webhook bodies are a few KB
DEFAULT_READ_TIMEOUT_S = 10.0  # head and body of one request; a 1 MB body needs far less on any real link
DEFAULT_MAX_CONNECTIONS = 1_000
FD_SHARE_FOR_CLIENTS = 0.5  # of RLIMIT_NOFILE: the rest is for the database, the platforms' APIs, the sender
REPORT_EVERY_S = 60.0  # at most one log line a minute about refused requests and dropped connections
LISTEN_QUEUE = 2048  # connections the kernel holds until accepted (uvicorn's default backlog)
MAX_ACCEPT_BATCH = 100  # asyncio's own default

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Count = Callable[[str, str], None]  # (channel, outcome) -> counted in /metrics

REFUSED_TOO_LARGE = "too_large"
CLIENT_GONE = "client_gone"
DROPPED_SLOW = "slow"
DROPPED_EVICTED = "evicted"
REFUSED_BUSY = "over_capacity"


@dataclass
class Report:
    """One log line per `every` seconds at most, with what happened since the last one: an attack that drops
    thousands of connections does not write thousands of lines (the exact counts are in /metrics)."""

    what: str
    every: float = REPORT_EVERY_S
    clock: Callable[[], float] = time.monotonic
    _counts: Tally[str] = field(default_factory=Tally)
    _last: float | None = None

    def add(self, reason: str) -> None:
        self._counts[reason] += 1
        now = self.clock()
        if self._last is None or now - self._last >= self.every:
            details = ", ".join(f"{n} {reason}" for reason, n in sorted(self._counts.items()))
            log.warning("%s: %s (since the last report; counted in /metrics)", self.what, details)
            self._counts.clear()
            self._last = now


def channel_of(path: str) -> str:
    """The /metrics label for a request path: the webhook's platform, else "other"."""
    for channel in ("telegram", "whatsapp"):
        if path.startswith(f"/{channel}/"):
            return channel
    return "other"


def max_connections(configured: int) -> int:
    """`configured`, but never more than a share of the process's file descriptors: the server must keep some for
    its own work, or a flood of clients makes it unable to open its database or reach the platforms."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, int(soft * FD_SHARE_FOR_CLIENTS)))


def accept_batch(connections: int) -> int:
    """How many connections asyncio accepts in one turn of the event loop (its `backlog`). Each is a descriptor
    before the protocol's cap sees it, and the turns before it does: a small batch keeps a burst of 1,000
    connections from running the process out of descriptors ("Too many open files", after which asyncio stops
    accepting for a second and /healthz times out)."""
    return max(1, min(MAX_ACCEPT_BATCH, connections // 8))


class GuardedServer(uvicorn.Server):
    """uvicorn's server, accepting `config.backlog` connections per turn of the event loop while the kernel still
    queues up to LISTEN_QUEUE (asyncio uses the one number for both; a short kernel queue would drop the SYN of a
    health check during a flood, and the client would retry only a second later)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for server in self.servers:
            for listening in server.sockets:
                with socket.socket(fileno=os.dup(listening.fileno())) as same:  # closes the duplicate only
                    same.listen(LISTEN_QUEUE)


class BodyLimit:
    """ASGI middleware: read each request's body, at most `max_bytes`, before the route sees the request."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, count: Count | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.count = count or (lambda channel, outcome: None)
        self.report = Report("webhook requests refused or abandoned")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # the client hung up (or was cut off) mid-body
                self.count(channel_of(scope["path"]), CLIENT_GONE)
                self.report.add(CLIENT_GONE)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        self.count(channel_of(scope["path"]), REFUSED_TOO_LARGE)
        self.report.add(REFUSED_TOO_LARGE)
        text = f"request body over {self.max_bytes} bytes".encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()),
            (b"connection", b"close")]})  # h11 then closes the connection: the rest of the body is never read
        await send({"type": "http.response.body", "body": text})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 refuses a malformed Content-Length before the app runs
    return None


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    read_timeout: float = DEFAULT_READ_TIMEOUT_S
    dropped: Callable[[str], None] = lambda reason: None  # counted in /metrics


REQUEST_READ = (h11.DONE, h11.MUST_CLOSE)  # h11's states of a client whose whole request is here ("close": MUST_CLOSE)
BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
                 b"content-length: 5\r\nconnection: close\r\n\r\nbusy\n")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for reading each request and a cap on open connections.
    `guarded_protocol(limits)` makes the class uvicorn is given (its `http` option)."""

    limits: ConnectionLimits = ConnectionLimits()
    report: Report = Report("connections closed")

    def connection_made(self, transport: Any) -> None:
        self._deadline: Any = None
        self._reading_since: float | None = None
        self._started_sending = False  # some of the request being read has come
        super().connection_made(transport)
        self._start_reading()
        if len(self.connections) > self.limits.max_connections:
            victim = self._longest_reading()
            if victim is None:
                self._close(REFUSED_BUSY, BUSY_RESPONSE)
            else:
                victim._close(DROPPED_EVICTED)

    def data_received(self, data: bytes) -> None:
        self._started_sending = True
        super().data_received(data)
        self._stop_when_read()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # kept alive: the next request has the same time to arrive
            self._start_reading()
            self._stop_when_read()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_reading()
        super().connection_lost(exc)

    # --- the deadline ---------------------------------------------------------------------------------------
    def _start_reading(self) -> None:
        self._stop_reading()
        self._reading_since = self.loop.time()
        self._started_sending = False
        self._deadline = self.loop.call_later(self.limits.read_timeout, self._close, DROPPED_SLOW)

    def _stop_reading(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._reading_since = None

    def _stop_when_read(self) -> None:
        if self._reading_since is not None and self.conn.their_state in REQUEST_READ:
            self._stop_reading()

    def _longest_reading(self) -> GuardedH11Protocol | None:
        """The connection to give up for a new one: of those still reading a request, the one that has sent part of
        it for the longest (a stalled client); failing those, the one that has sent nothing for the longest. A
        quick client (a health check) has sent its whole request before a stalled one is out of the way."""
        readers = [c for c in self.connections
                   if c is not self and isinstance(c, GuardedH11Protocol) and c._reading_since is not None]
        if not readers:
            return None
        return min(readers, key=lambda c: (not c._started_sending, c._reading_since))

    def _close(self, reason: str, answer: bytes | None = None) -> None:
        self._stop_reading()
        if self.transport.is_closing():
            return
        self.limits.dropped(reason)
        self.report.add(reason)
        if answer is not None:
            self.transport.write(answer)
        self.transport.close()  # a request still in the app sees a disconnect (BodyLimit: one counted line)


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, carrying `limits` (uvicorn builds it with its own
    arguments only)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits,
                                                              "report": Report("connections closed")})
