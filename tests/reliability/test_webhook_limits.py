"""What one client without any secret may cost `python -m bot serve` (issue 14.2), measured on the real process
over loopback HTTP: huge bodies are refused at once, whatever the route, without the process growing; slow and
idle clients are cut off after WEB_READ_TIMEOUT_SECONDS; a flood of them under a 256-descriptor limit cannot
make /healthz fail; a client hanging up mid-body costs no traceback.

Before: six 300 MB bodies took the process from 78 MB to 2.05 GB and stalled /healthz; 1,000 slow bodies stayed
open for 70 s and, with 256 descriptors, /healthz timed out ("Too many open files").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.web.limits import MAX_BODY_BYTES
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.reliability.serving import TELEGRAM_SECRET, closed_by_server, fetch, get, serve_process
from tests.whatsapp.conftest import METRICS_AUTH

HUGE = 100_000_000  # bytes each attacker offers (the probe used 300 MB; 100 MB shows the same in less time)
CHUNK = 1 << 20
MEMORY_GROWTH_MAX_KIB = 50 * 1024  # the whole attack may cost the server's peak RSS less than this
HEALTH_EVERY_S = 0.05
HEALTH_SLOW_S = 1.0  # /healthz answers within this during an attack
HEALTH_LOOKS = 5  # answers the probe gets at least
SLOW_CLIENTS = 1_000
FD_LIMIT = 256
READ_TIMEOUT = "1"  # WEB_READ_TIMEOUT_SECONDS for the slow-client test (the default is 10)
TRICKLE_BYTES = 50  # one every 0.1 s: the trickling client sends for 5 s, five times READ_TIMEOUT
CLOSED = 0  # offer_body's status when the server closed the connection without an answer the client read


@pytest.fixture
async def tg_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@dataclass
class HealthProbe:
    """GET /healthz every HEALTH_EVERY_S on a new connection, for as long as the attack lasts."""

    port: int
    answers: list[tuple[int, float]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # set at each answer

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[HealthProbe]:
        """Probing from before the block (one answer in) to after it, with HEALTH_LOOKS answers at least: how many
        fit in the block itself depends on how busy the machine is, not on the server."""
        async def probe() -> None:
            while True:
                self.answers.append(await get(self.port, "/healthz", within=HEALTH_SLOW_S * 3))
                self.answered.set()
                await asyncio.sleep(HEALTH_EVERY_S)

        task = asyncio.create_task(probe())
        try:
            await self._answered(1)
            yield self
            await self._answered(HEALTH_LOOKS)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _answered(self, count: int) -> None:
        async with asyncio.timeout(count * HEALTH_SLOW_S * 3 + 10):  # each look ends within HEALTH_SLOW_S * 3
            while len(self.answers) < count:
                self.answered.clear()
                await self.answered.wait()

    def assert_answered_throughout(self) -> None:
        assert len(self.answers) >= HEALTH_LOOKS, self.answers
        failed = [(status, round(seconds, 2)) for status, seconds in self.answers
                  if status != 200 or seconds > HEALTH_SLOW_S]
        assert not failed, f"/healthz failed or slow {len(failed)} of {len(self.answers)} times: {failed[:10]}"


async def offer_body(port: int, path: str, headers: dict[str, str], total: int, *, chunked: bool
                     ) -> tuple[int, float, int]:
    """Start posting a `total`-byte body (declared in Content-Length, or streamed in chunks) and keep sending until
    the server answers: (status, seconds until the answer, bytes sent by then)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}{framing}\r\n\r\n"
                 .encode())
    start = time.monotonic()
    answer = asyncio.create_task(reader.readline())
    sent = 0
    chunk = b"[" * CHUNK
    with contextlib.suppress(ConnectionError, OSError):
        while sent < total and not answer.done():
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            await writer.drain()
            sent += len(chunk)
        if chunked:
            writer.write(b"0\r\n\r\n")
    try:
        line = await asyncio.wait_for(answer, 60)
    except (ConnectionError, OSError, TimeoutError):
        line = b""
    seconds = time.monotonic() - start
    writer.close()
    return (int(line.split()[1]) if line.startswith(b"HTTP/") else 0), seconds, sent


async def test_huge_bodies_are_refused_at_once_without_memory_growth(
    tmp_path: Path, wa_api: FakeWhatsAppApi, tg_api: FakeBotApi
) -> None:
    async with serve_process(tmp_path, wa_api, tg_api) as served:
        peak_before = served.memory_kib("VmHWM")
        telegram = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}  # the secret does not buy a bigger body
        attacks = [offer_body(served.port, path, headers, HUGE, chunked=chunked)
                   for path, headers in (("/whatsapp/webhook", {}), ("/telegram/webhook", telegram))
                   for chunked in (False, True)]
        async with HealthProbe(served.port).running() as health:
            answers = await asyncio.gather(*attacks)
            # A client that gives up halfway through its body: one counted line at most, no traceback.
            _, writer = await asyncio.open_connection("127.0.0.1", served.port)
            writer.write(b"POST /whatsapp/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"{" * 500)
            await writer.drain()
            writer.close()
            await asyncio.sleep(0.3)
        growth = served.memory_kib("VmHWM") - peak_before
        log = served.log
        metrics = (await fetch(served.port, "/metrics", METRICS_AUTH))[1]
    for status, seconds, sent in answers:
        # 413, or the connection closed before the client read it (it was still sending: the kernel resets)
        assert status in (413, CLOSED), answers
        assert seconds < 2.0 and sent <= 16 * MAX_BODY_BYTES, answers  # refused at once, not after reading it all
    for channel in ("whatsapp", "telegram"):
        assert f'prakerja_webhook_requests_total{{channel="{channel}",outcome="too_large"}} 2' in metrics, metrics
    assert 'outcome="client_gone"} 1' in metrics
    assert growth < MEMORY_GROWTH_MAX_KIB, f"peak RSS grew by {growth // 1024} MiB"
    health.assert_answered_throughout()
    assert "Traceback" not in log and "ClientDisconnect" not in log, log[-3000:]


SLOW_HEAD = (b"POST /whatsapp/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n" + b'{"entry": [')  # ...and the other 989 bytes never come


@dataclass
class Flood:
    """What the attacker saw: connections opened, still open at the end, and how long the one client that kept
    sending a byte every 0.1 s was let in."""

    opened: int = 0
    still_open: int = 0
    trickler_seconds: float | None = None
    trickled: int = 0  # bytes the trickling client had sent when it was cut off


async def flood(port: int, clients: int, read_timeout: float) -> Flood:
    """`clients` connections that send a request head and a little of the body, then nothing; one more that keeps
    trickling. Run in its own event loop (thread): an attacker is not slowed by the health checker, nor it by him."""
    seen = Flood()

    async def slow_client() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(SLOW_HEAD)
            await writer.drain()
            return reader, writer  # both held: a writer left to the garbage collector closes the connection
        except OSError:
            return None  # refused or closed at once: nothing held

    trickled = 0

    async def trickle(writer: asyncio.StreamWriter) -> None:
        nonlocal trickled
        with contextlib.suppress(ConnectionError, OSError):
            for _ in range(TRICKLE_BYTES):  # a byte every 0.1 s: never idle, never done
                writer.write(b" ")
                await writer.drain()
                trickled += 1
                await asyncio.sleep(0.1)

    async def cut_off(reader: asyncio.StreamReader) -> None:
        if await closed_by_server(reader, TRICKLE_BYTES * 0.1 + 5):
            seen.trickler_seconds, seen.trickled = time.monotonic() - started, trickled

    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(SLOW_HEAD)
    trickling = asyncio.create_task(trickle(writer))
    watching = asyncio.create_task(cut_off(reader))  # from the start: opening the others takes seconds when busy
    clients_open = [c for c in await asyncio.gather(*(slow_client() for _ in range(clients))) if c is not None]
    all_open = time.monotonic()
    seen.opened = len(clients_open)
    await watching
    trickling.cancel()
    # Every one has had its read_timeout (from when it opened, the last at `all_open`); the server closes them.
    await asyncio.sleep(max(0.0, all_open + read_timeout + 1.0 - time.monotonic()))
    closed = await asyncio.gather(*(closed_by_server(reader, 5.0) for reader, _ in clients_open))
    seen.still_open = closed.count(False)
    return seen


async def test_slow_clients_are_cut_off_and_healthz_answers_throughout_with_256_descriptors(
    tmp_path: Path, wa_api: FakeWhatsAppApi
) -> None:
    read_timeout = float(READ_TIMEOUT)
    async with serve_process(tmp_path, wa_api, nofile=FD_LIMIT, WEB_READ_TIMEOUT_SECONDS=READ_TIMEOUT) as served:
        async with HealthProbe(served.port).running() as health:
            seen = await asyncio.to_thread(asyncio.run, flood(served.port, SLOW_CLIENTS, read_timeout))
        log = served.log
        metrics = (await fetch(served.port, "/metrics", METRICS_AUTH))[1]
    # Cut off at its deadline while still sending (it sends for 5 read timeouts), not kept alive by each byte.
    # (Not timed: on a busy machine opening the 1,000 other connections alone took 3.9 s.)
    assert seen.trickler_seconds is not None and seen.trickled < TRICKLE_BYTES, \
        f"a client sending a byte at a time was not cut off: {seen}"
    assert seen.still_open == 0, f"{seen.still_open} of {seen.opened} slow connections still open"
    health.assert_answered_throughout()
    assert "Too many open files" not in log and "Traceback" not in log, log[-3000:]
    assert log.count("connections closed") <= 2, "one summary line a minute, not one per connection"
    assert 'prakerja_http_connections_closed_total{reason="slow"}' in metrics, metrics
