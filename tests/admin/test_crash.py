"""kill -9 of a real `python -m bot sender` in the middle of a broadcast, then a restart: nobody misses the
message, nothing recorded as sent is sent again, and duplicates are bounded by the sender's concurrency."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.app import App
from bot.demo import DEMO_PEPPER
from storage.models import Audience, BroadcastKind
from tests.admin.conftest import populate, queue_empty
from tests.auxil.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 8
# SENDER_LEASE_SECONDS: the killed sender's deliveries go again after it, so it is short; but a send not answered
# within half of it is also sent again (maybe sent), so it must be longer than a stall of this loaded process,
# which runs the fake server (at 2 s, 1 s without an answer made such duplicates; see tests/postgres).
LEASE = "6"


async def start_sender(app: App, api: FakeBotApi) -> asyncio.subprocess.Process:
    env = {**os.environ, "DATABASE_PATH": str(app.settings.database_path), "NIK_PEPPER": DEMO_PEPPER,
           "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url, "TELEGRAM_RATE": "300",
           "SENDER_CONCURRENCY": str(CONCURRENCY), "SENDER_LEASE_SECONDS": LEASE, "LOG_LEVEL": "WARNING"}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "sender", env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def test_kill_9_mid_broadcast_then_restart(app: App, api: FakeBotApi) -> None:
    members = await populate(app, 300)
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Info penting",
                                            audience=Audience())
    await app.storage.outbox.start(draft.id)
    api.slow(0.02, method="sendMessage")  # requests in flight at the kill

    sender = await start_sender(app, api)
    try:
        await api.wait_for("sendMessage", count=100, within=30)
        sender.send_signal(signal.SIGKILL)
        await sender.wait()
    finally:
        if sender.returncode is None:
            sender.kill()
            await sender.wait()
    rows = await app.storage.database.fetchall(
        "SELECT c.external_id, d.state FROM deliveries d JOIN chats c ON c.id = d.chat_id WHERE broadcast_id = ?",
        (draft.id,))
    confirmed = {r["external_id"] for r in rows if r["state"] == "sent"}
    in_flight = sum(1 for r in rows if r["state"] == "sending")
    assert 50 <= len(confirmed) < 300 and in_flight <= CONCURRENCY

    restarted = await start_sender(app, api)
    try:
        empty = queue_empty(app)
        async with asyncio.timeout(30):
            while True:
                if await empty():
                    break
                await asyncio.sleep(0.1)
    finally:
        restarted.send_signal(signal.SIGTERM)  # a clean stop
        assert await asyncio.wait_for(restarted.wait(), 15) == 0

    received = Counter(str(c.chat_id) for c in api.sent())
    assert set(received) == {m.external_id for m in members}  # none missing
    assert all(received[chat] == 1 for chat in confirmed)  # nothing confirmed was sent again
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= in_flight <= CONCURRENCY  # only what was in flight at the kill may repeat
    states = Counter(r["state"] for r in await app.storage.database.fetchall(
        "SELECT state FROM deliveries WHERE broadcast_id = ?", (draft.id,)))
    assert states == Counter({"sent": 300})
