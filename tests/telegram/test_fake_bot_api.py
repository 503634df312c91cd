"""The fake Bot API itself behaves like Telegram where our code (and the outbox sender) depends on it."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot.channels.telegram.delivery import retry_seconds
from tests.auxil.fake_bot_api import FakeBotApi


@pytest.fixture
async def bot(api: FakeBotApi):  # type: ignore[no-untyped-def]
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


async def test_faults_per_method_and_chat(bot: Bot, api: FakeBotApi) -> None:
    api.too_many_requests(retry_after=7, chat_id=1)
    api.blocked(2)
    api.server_error(500, method="sendMessage", chat_id=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(1, "a")
    assert retry_seconds(flood.value) == 7
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(2, "b")
    with pytest.raises(NetworkError):
        await bot.send_message(3, "c")
    assert (await bot.send_message(1, "again")).text == "again"  # times=1 by default
    assert [c.status for c in api.calls_to("sendMessage")] == [429, 403, 500, 200]


async def test_rate_cap_answers_429_beyond_it(bot: Bot, api: FakeBotApi) -> None:
    api.rate_limit(per_second=5)
    results = await asyncio.gather(*(bot.send_message(10 + i, "x") for i in range(8)), return_exceptions=True)
    assert sum(isinstance(r, RetryAfter) for r in results) == 3
    api.rate_limit(per_chat=1)
    await bot.send_message(99, "first")
    with pytest.raises(RetryAfter):
        await bot.send_message(99, "second in the same second")


async def test_telegram_checks_and_files(bot: Bot, api: FakeBotApi) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(1, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(1, "x" * 4097)
    api.add_file("f1", b"nik,phone\n", "data.csv")
    file = await bot.get_file("f1")
    assert bytes(await file.download_as_bytearray()) == b"nik,phone\n"
    await bot.send_document(1, b"%PDF-1.4", filename="a.pdf", caption="laporan")  # multipart body
    assert api.calls_to("sendDocument")[0].params["caption"] == "laporan"
    assert (await bot.get_chat(-100123)).type == "supergroup"
    assert (await bot.create_forum_topic(-100123, "Bantuan")).name == "Bantuan"


async def test_wrong_token_is_refused(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=api.base_url):
            pass
