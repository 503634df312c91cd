"""Faults at the network edge: the Bot API answers 429, 500, 502, drops the connection, answers garbage, is too
slow, or is down for a while. The bot retries what was not delivered, reports what it cannot know, never crashes,
and the user gets the answer once the fault passes.

(429 waited out, long flood waits, 403 blocked are in tests/telegram/test_delivery.py; the outbox sender's
429, 5xx backoff and 403 handling in tests/admin/test_sender.py; WhatsApp's error codes in tests/whatsapp.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import pytest
from telegram.request import HTTPXRequest

from bot.app import App
from bot.channels.telegram import build_application
from bot.channels.telegram.delivery import NETWORK_RETRY_WAIT
from bot.channels.telegram.transport import TelegramTransport
from bot.run import run_polling
from bot.sender import build_sender
from bot.settings import Settings, load_settings
from storage.models import Audience, BroadcastKind
from tests.admin.conftest import populate, queue_empty, run_until
from tests.auxil.fake_bot_api import GARBAGE, NO_ANSWER, FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.reliability.conftest import answered
from tests.telegram.user import TelegramUser
from tests.whatsapp.user import WhatsAppUser

FAULTS = {
    "500": lambda api: api.server_error(500, method="sendMessage"),
    "502": lambda api: api.server_error(502, method="sendMessage"),
    "reset": lambda api: api.reset_connection(method="sendMessage"),
    "garbage": lambda api: api.garbage(method="sendMessage"),
}
STATUS = {"500": 500, "502": 502, "reset": NO_ANSWER, "garbage": GARBAGE}


@pytest.mark.parametrize("fault", FAULTS)
async def test_an_undelivered_answer_is_sent_again_once(user: TelegramUser, api: FakeBotApi, fault: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    FAULTS[fault](api)
    caplog.set_level(logging.INFO, logger="bot.channels.telegram")
    started = time.monotonic()
    calls = await user.send("/start")
    sends = [c for c in calls if c.method == "sendMessage"]
    assert [c.status for c in sends] == [STATUS[fault], 200]  # one retry, after a short pause
    assert sends[1].at - sends[0].at >= NETWORK_RETRY_WAIT * 0.9
    assert "Asisten Prakerja" in answered(user)
    assert "retrying" in caplog.text
    assert time.monotonic() - started < 3


async def test_a_fault_that_lasts_is_logged_and_the_next_update_is_answered(
        user: TelegramUser, api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    api.server_error(502, method="sendMessage", times=None)
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram")
    calls = await user.send("/start")
    assert [c.status for c in calls if c.method == "sendMessage"] == [502, 502]
    assert "message to chat" in caplog.text and "failed" in caplog.text
    api.clear_faults()
    await user.send("/hasil")
    assert "belum terhubung" in answered(user)


async def test_a_timeout_is_reported_not_sent_twice_and_the_message_still_arrives(
        app: App, tg_settings: Settings, api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    """The client gives up after its read timeout; the server still delivers the message it was handling. The bot
    logs it and does not send it again (that would show it twice)."""
    request = HTTPXRequest(connection_pool_size=8, read_timeout=0.3)
    api.slow(2.0, method="sendMessage", times=1)
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram")
    async with build_application(app, tg_settings, request=request) as application:
        user = TelegramUser(application, api, user_id=5005)
        await user.send("/start")
        # The chat is not held while the server dawdles: handled before the server has answered (it records a
        # call once answered), not after its 2 s (a wall-clock bound of 1 s could trip on a busy machine).
        assert not api.calls_to("sendMessage", chat_id=5005)
        assert "TimedOut" in caplog.text
        arrived = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 5005, within=10)
        assert len(arrived) == 1 and "Asisten Prakerja" in arrived[0].params["text"]
        await user.send("/bantuan")
        assert "Yang bisa saya bantu" in answered(user)


async def test_polling_survives_a_broken_api_and_answers_when_it_recovers(
        tg_settings: Settings, api: FakeBotApi, caplog: pytest.LogCaptureFixture) -> None:
    """`python -m bot run`'s long polling: getUpdates drops the connection, then answers garbage; the bot keeps
    polling (with PTB's backoff) and answers the message waiting at the server."""
    api.reset_connection(method="getUpdates")
    api.garbage(method="getUpdates")
    user = TelegramUser(None, api, user_id=6006)  # type: ignore[arg-type]  # builds updates; polling delivers them
    api.push_update({"message": user.text_message("/start")})
    stop = asyncio.Event()
    polling = asyncio.create_task(run_polling(tg_settings, stop=stop))
    try:
        answer = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 6006, within=15)
        assert "Asisten Prakerja" in answer[0].params["text"]
        statuses = [c.status for c in api.calls_to("getUpdates")]
        assert statuses[:2] == [NO_ANSWER, GARBAGE] and 200 in statuses
    finally:
        stop.set()
        assert await asyncio.wait_for(polling, 10) == 0  # a clean stop, not a crash


@pytest.mark.parametrize("fault", ["reset", "garbage", "500"])
async def test_whatsapp_reply_survives_a_broken_cloud_api(wa_user: WhatsAppUser, wa_api: FakeWhatsAppApi,
                                                          fault: str) -> None:
    {"reset": lambda: wa_api.reset_connection(), "garbage": lambda: wa_api.garbage(),
     "500": lambda: wa_api.fail(131000, status=500)}[fault]()
    await wa_user.text("bantuan")
    assert wa_api.refused and "Yang bisa saya bantu" in wa_user.text_out  # retried with backoff, then delivered
    assert len([s for s in wa_user.last if "Yang bisa saya bantu" in s.body]) == 1


async def test_broadcast_under_every_network_fault_loses_nobody(app: App, api: FakeBotApi) -> None:
    """The outbox sender meets resets, garbage, 5xx and a timeout: everyone gets the message; only the timed-out
    send (which the server did deliver, late) may arrive twice, and it is flagged ambiguous, not sent blindly."""
    members = await populate(app, 12)
    targets = iter(m.external_id for m in members)
    api.reset_connection(method="sendMessage", chat_id=next(targets))
    api.reset_connection(method="sendMessage", chat_id=next(targets))
    api.garbage(method="sendMessage", chat_id=next(targets))
    api.server_error(502, method="sendMessage", chat_id=next(targets))
    api.slow(1.0, method="sendMessage", chat_id=next(targets), times=1)  # longer than the transport's timeout
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Pengumuman penting",
                                            audience=Audience())
    assert await app.storage.outbox.start(draft.id) is not None
    settings = load_settings(database_path=app.settings.database_path, nik_pepper=app.settings.nik_pepper,
                             telegram_bot_token=api.token, telegram_api_url=api.base_url, telegram_rate=1000,
                             sender_concurrency=4, sender_lease_seconds=60)
    transport = TelegramTransport(api.token, api.base_url, rate=1000, concurrency=4, timeout=0.5)
    sender = build_sender(app, settings, [transport])
    await run_until(sender, queue_empty(app), within=30)
    received = Counter(str(c.chat_id) for c in api.sent())
    assert set(received) == {m.external_id for m in members}  # nobody lost
    assert sum(received.values()) - len(members) <= 1  # at most the timed-out one twice
    assert sender.stats.transient >= 5
    flagged = await app.storage.database.fetchone(  # type: ignore[attr-defined]
        "SELECT count(*) AS n FROM deliveries WHERE broadcast_id = ? AND ambiguous = 1", (draft.id,))
    assert flagged is not None and flagged["n"] == 1
