"""The sender's Telegram transport: its lean send path (bot/http_post.py) answers every Bot API fault exactly as
the python-telegram-bot path does, and reads HTTP answers however the server frames them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.channels.telegram.transport import TelegramTransport
from bot.http_post import HttpError, PostClient
from bot.sender.transport import Outcome, OutcomeKind, Recipient
from handlers.api import Button, Reply, rows
from tests.auxil.fake_bot_api import FakeBotApi

CHAT = "4242"
TIMEOUT = 0.5  # seconds; the "slow" fault answers after longer
FAULTS: dict[str, Callable[[FakeBotApi], object]] = {
    "ok": lambda api: None,
    "429": lambda api: api.too_many_requests(retry_after=3, method="sendMessage"),
    "429 without retry_after": lambda api: api.inject("sendMessage", status=429, description="Too Many Requests"),
    "403 blocked": lambda api: api.blocked(chat_id=CHAT),
    "400 chat not found": lambda api: api.inject("sendMessage", status=400, description="Bad Request: chat not found"),
    "401": lambda api: api.inject("sendMessage", status=401, description="Unauthorized"),
    "404": lambda api: api.inject("sendMessage", status=404, description="Not Found"),
    "409": lambda api: api.inject("sendMessage", status=409, description="Conflict: terminated by other request"),
    "500": lambda api: api.server_error(500, method="sendMessage"),
    "502 html": lambda api: api.server_error(502, method="sendMessage"),
    "garbage": lambda api: api.garbage(method="sendMessage"),
    "reset": lambda api: api.reset_connection(method="sendMessage"),
    "slow": lambda api: api.slow(TIMEOUT * 2, method="sendMessage", times=1),
}
# Faults without an HTTP answer: the two clients word the error differently (httpx's exception names).
NO_ANSWER = {"reset"}


async def send_once(api: FakeBotApi, fault: str, *, lean: bool) -> Outcome:
    api.clear_faults()
    FAULTS[fault](api)
    transport = TelegramTransport(api.token, api.base_url, rate=30, concurrency=2, timeout=TIMEOUT, lean=lean)
    await transport.start()
    try:
        reply = Reply("<b>Pengumuman</b> &amp; info", rows(Button("Menu", "go", "menu")))
        return await transport.send(Recipient(CHAT, "id"), reply)
    finally:
        await transport.close()


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_lean_path_maps_every_answer_like_python_telegram_bot(api: FakeBotApi, fault: str) -> None:
    expected = await send_once(api, fault, lean=False)
    got = await send_once(api, fault, lean=True)
    assert (got.kind, got.retry_after, got.throttled, got.maybe_sent) == \
        (expected.kind, expected.retry_after, expected.throttled, expected.maybe_sent)
    if fault not in NO_ANSWER:
        assert got.error == expected.error
    if fault == "ok":
        assert got.kind is OutcomeKind.SENT and got.message_id is not None
        sent = api.calls_to("sendMessage", ok=True)
        assert [c.params for c in sent[-1:]] == [c.params for c in sent[-2:-1]]  # the same request, both paths


async def test_a_long_text_goes_in_parts_and_a_failed_part_stops_the_rest(api: FakeBotApi) -> None:
    transport = TelegramTransport(api.token, api.base_url, rate=30, concurrency=2, timeout=TIMEOUT)
    await transport.start()
    try:
        long = ("Baris pengumuman yang cukup panjang.\n" * 200).strip()  # ~7,400 characters: two messages
        outcome = await transport.send(Recipient(CHAT, "id"), Reply(long))
        assert outcome.kind is OutcomeKind.SENT
        assert "".join(api.texts(CHAT)).replace("\n", "") == long.replace("\n", "")
        api.calls.clear()
        api.inject("sendMessage", status=400, description="Bad Request: chat not found", times=1)
        outcome = await transport.send(Recipient(CHAT, "id"), Reply(long))
        assert outcome.kind is OutcomeKind.FAILED and len(api.calls_to("sendMessage")) == 1
    finally:
        await transport.close()


Answer = Callable[[int], bytes]  # the n-th request on a connection -> raw bytes to answer
Serve = Callable[[Answer, bool], Awaitable[int]]  # (answer, close after each answer) -> port


@pytest.fixture
async def raw_server() -> AsyncIterator[Serve]:
    """Starts TCP servers answering each request with the given raw bytes (and closing after, if asked)."""
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, close_after: bool) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            n = 0
            while True:
                head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
                if not head:
                    break
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                writer.write(answer(n))
                n += 1
                await writer.drain()
                if close_after:
                    writer.close()
                    return

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("framing", ["content-length", "chunked", "until close", "connection: close"])
async def test_answers_are_read_however_they_are_framed(raw_server: Serve,
                                                        framing: str) -> None:
    body = b'{"ok":true,"result":{"message_id":%d}}'

    def answer(n: int) -> bytes:
        payload = body % n
        match framing:
            case "chunked":
                half = len(payload) // 2
                return (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n" % (half, payload[:half], len(payload) - half,
                                                                         payload[half:]))
            case "until close":
                return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload
            case "connection: close":
                return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(payload), payload)
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)

    port = await raw_server(answer, framing in ("until close", "connection: close"))
    client = PostClient(f"http://127.0.0.1:{port}/bot1:x/sendMessage", size=2, timeout=2)
    try:
        answers = [await client.post(b"{}") for _ in range(3)]  # kept alive, or reconnected after a close
    finally:
        await client.close()
    expected_ids = [0, 1, 2] if framing in ("content-length", "chunked") else [0, 0, 0]
    assert answers == [(200, body % n) for n in expected_ids]


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
        raw_server: Serve) -> None:
    port = await raw_server(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", True)  # keep-alive, closes
    client = PostClient(f"http://127.0.0.1:{port}/bot1:x/sendMessage", size=1, timeout=2)
    try:
        assert await client.post(b"{}") == (200, b"{}")
        await asyncio.sleep(0.05)  # the close arrives
        assert await client.post(b"{}") == (200, b"{}")
    finally:
        await client.close()


async def test_an_answer_that_is_not_http_is_an_error(raw_server: Serve) -> None:
    port = await raw_server(lambda n: b"SSH-2.0-OpenSSH_9.6\r\n\r\n", False)
    client = PostClient(f"http://127.0.0.1:{port}/bot1:x/sendMessage", size=1, timeout=2)
    try:
        with pytest.raises(HttpError):
            await client.post(b"{}")
    finally:
        await client.close()
