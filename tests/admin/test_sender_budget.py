"""One send budget per bot token (issue 15.2): Telegram counts every message of the bot, answers and broadcasts
alike, so answers to applicants and the outbox sender debit the same budget, answers first: in one process, and
across processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from telegram.ext import Application

from bot.app import App
from bot.channels.telegram.delivery import ANSWER_MAX_WAIT
from bot.demo import DEMO_PEPPER
from bot.pacing import DEBT_S, TokenBucket
from bot.sender import Sender
from storage.models import Audience
from tests.admin.conftest import Member, populate, queue_empty, run_until
from tests.admin.test_sender import broadcast
from tests.auxil.cluster import ROOT, sender_command
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram.user import TelegramUser

CAP = 30  # Telegram: about 30 messages a second per bot; the fake refuses the 31st in any second
ANSWERS_PER_S = 10
RECIPIENTS = 300
MAX_429 = 3
ANSWER_WAIT = 1.0  # seconds an answer may take at most, from the update to its message at the server


async def test_answers_flowing_while_a_broadcast_runs_share_the_cap(
        app: App, api: FakeBotApi, application: Application, make_sender: Callable[..., Sender]) -> None:
    members = await populate(app, RECIPIENTS)
    api.rate_limit(per_second=CAP)  # a strict sliding window of one second over every message sent
    await broadcast(app, "Pengumuman penting", Audience())
    async with answers_flowing(application, api) as asked:
        await run_until(make_sender(rate=CAP), queue_empty(app), within=60)
    assert_shared(api, members, asked)


@pytest.mark.parametrize("app", ["postgres"], indirect=True)
async def test_answers_and_a_sender_in_another_process_share_the_cap_on_postgres(
        app: App, api: FakeBotApi, application: Application) -> None:
    """`serve` and `sender` as separate processes on one PostgreSQL database: the answers of this process and the
    broadcast of a real `python -m bot sender` together stay within the cap (the shared budget row)."""
    members = await populate(app, RECIPIENTS)
    api.rate_limit(per_second=CAP)
    await broadcast(app, "Pengumuman penting", Audience())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": str(app.settings.database_url),
           "NIK_PEPPER": DEMO_PEPPER, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url,
           "TELEGRAM_RATE": str(CAP), "LOG_LEVEL": "WARNING"}
    async with answers_flowing(application, api) as asked:
        sender = await asyncio.create_subprocess_exec(*sender_command(), env=env, cwd=ROOT,
                                                      stdout=asyncio.subprocess.DEVNULL)
        try:
            empty = queue_empty(app)
            async with asyncio.timeout(60):
                while not await empty():
                    assert sender.returncode is None, "the sender process exited"
                    await asyncio.sleep(0.2)
        finally:
            sender.send_signal(signal.SIGTERM)
            await sender.wait()
    assert_shared(api, members, asked)


@asynccontextmanager
async def answers_flowing(application: Application, api: FakeBotApi) -> AsyncIterator[dict[int, float]]:
    """New applicants asking for help at a steady 10 a second (each once: no chat gets two in a second) for the
    block; yields user id -> when their update came in."""
    asked: dict[int, float] = {}
    stop = asyncio.Event()

    async def applicants() -> None:
        tasks = set()
        user_id = 800_000
        while not stop.is_set():
            user = TelegramUser(application, api, user_id=user_id)
            asked[user_id] = time.monotonic()
            tasks.add(asyncio.create_task(user.send("/bantuan")))
            user_id += 1
            await asyncio.sleep(1 / ANSWERS_PER_S)
        await asyncio.gather(*tasks)

    flowing = asyncio.create_task(applicants())
    try:
        yield asked
    finally:
        stop.set()
        await flowing


def assert_shared(api: FakeBotApi, members: list[Member], asked: dict[int, float]) -> None:
    sends = api.calls_to("sendMessage")
    assert len([c for c in sends if c.status == 429]) <= MAX_429
    reached = Counter(str(c.chat_id) for c in sends if c.status == 200 and int(c.chat_id) < 800_000)
    assert reached == Counter({m.external_id: 1 for m in members})  # everyone once
    answered = {int(c.chat_id): c.at for c in sends if c.status == 200 and int(c.chat_id) >= 800_000}
    assert set(answered) == set(asked) and len(asked) >= 10 * ANSWERS_PER_S  # answers flowed the whole time
    slowest = max(answered[user] - at for user, at in asked.items())
    assert slowest < ANSWER_WAIT


def test_answers_beyond_the_budget_go_at_once_and_the_broadcast_owes_them() -> None:
    """A burst of answers past the cap: the first wait at most ANSWER_MAX_WAIT for their token, the rest go at once
    (Telegram decides), also while tokens come back (none waits half a second for a token just refilled); the
    broadcast waits until what the answers overspent is repaid."""
    now = [0.0]
    budget = TokenBucket(CAP, clock=lambda: now[0])
    waits = [budget.reserve(ANSWER_MAX_WAIT) for _ in range(100)]
    queued = [w for w in waits if w is not None]
    assert len(queued) == pytest.approx(ANSWER_MAX_WAIT * budget.refill, abs=2) and max(queued) <= ANSWER_MAX_WAIT
    assert waits[len(queued):] == [None] * (100 - len(queued))
    for _ in range(20):  # the burst goes on at 200 answers a second
        now[0] += 0.005
        assert budget.reserve(ANSWER_MAX_WAIT) is None
    assert budget.wait_time(1) >= ANSWER_MAX_WAIT + DEBT_S - 0.2
