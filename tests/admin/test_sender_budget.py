"""One send budget per bot token (issue 15.2): Telegram counts every message of the bot, answers and broadcasts
alike, so answers to applicants and the outbox sender debit the same budget in the process, answers first."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import pytest
from telegram.ext import Application

from bot.app import App
from bot.channels.telegram.delivery import ANSWER_MAX_WAIT
from bot.pacing import DEBT_S, TokenBucket
from bot.sender import Sender
from storage.models import Audience
from tests.admin.conftest import populate, queue_empty, run_until
from tests.admin.test_sender import broadcast
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
    asked: dict[int, float] = {}  # user id -> when their update came in
    stop = asyncio.Event()

    async def applicants() -> None:
        """New applicants asking for help at a steady 10 a second (each once: no chat gets two in a second)."""
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
        await run_until(make_sender(rate=CAP), queue_empty(app), within=60)
    finally:
        stop.set()
        await flowing

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
