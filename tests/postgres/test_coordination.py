"""What several processes coordinate through PostgreSQL, each "process" here being its own Storage (own pool):
migrations once, a chat's turns in order, the senders' shared rate budget, and per-chat spacing across senders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from bot import catalogue
from bot.sender.budget import SharedBucket
from storage import Storage, open_storage
from storage.models import BroadcastKind
from storage.postgres import coordination
from tests.auxil.postgres import fresh_schema, require_postgres

HANG_S = 5.0  # longer than any step here takes on a busy machine: a bound for a hang, not for speed


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_schema(require_postgres()) as target:
        yield target


@pytest.fixture
async def processes(url: str) -> AsyncIterator[list[Storage]]:
    """Three storages on one database, as three processes would have."""
    opened = list(await asyncio.gather(*(open_storage(url, pool_size=2) for _ in range(3))))
    yield opened
    for storage in opened:
        await storage.close()


async def test_processes_starting_together_migrate_once(url: str) -> None:
    storages = await asyncio.gather(*(open_storage(url) for _ in range(4)))
    try:
        versions = await storages[0].database.fetchall("SELECT version FROM schema_version ORDER BY version")
        scripts = [f for f in resources.files("storage.migrations.postgres").iterdir() if f.name.endswith(".sql")]
        assert [r["version"] for r in versions] == list(range(1, len(scripts) + 1))  # each applied once
        assert all(s.backend == "postgres" for s in storages)
    finally:
        for storage in storages:
            await storage.close()


async def test_processes_starting_together_seed_the_catalogue_once(processes: list[Storage]) -> None:
    # `serve` processes started at once each find the catalogue empty and seed it; none may fail on a duplicate.
    await asyncio.gather(*(catalogue.ensure_loaded(s) for s in processes))
    seeded = await processes[0].catalogue.platforms()
    assert len(seeded) == 7 and await processes[1].catalogue.count_trainings() > 0


async def test_a_chats_updates_are_handled_in_ticket_order_across_processes(processes: list[Storage]) -> None:
    a, b, c = processes
    tickets = [await s.turns.take("telegram", "42") for s in (a, b, c)]  # the order the platform delivered
    assert tickets == [1, 2, 3]
    handled: list[int] = []

    async def handle(storage: Storage, ticket: int) -> None:
        async with storage.turns.hold("telegram", "42", ticket):
            handled.append(ticket)
            await storage.chats.snapshot("telegram", "42", "42")  # statements run on the lock's connection
            await asyncio.sleep(0.02)

    # The later updates reach their processes first; they wait for their turn.
    later = [asyncio.create_task(handle(c, 3)), asyncio.create_task(handle(b, 2))]
    await asyncio.sleep(0.1)
    assert handled == []
    await handle(a, 1)
    await asyncio.gather(*later)
    assert handled == [1, 2, 3]


async def test_turns_of_one_chat_run_one_at_a_time_and_other_chats_alongside(processes: list[Storage]) -> None:
    a, b, _ = processes
    inside: dict[str, int] = {"42": 0, "43": 0}
    most: dict[str, int] = {"42": 0, "43": 0}
    together = asyncio.Event()  # a turn of each chat held at the same moment

    async def handle(storage: Storage, chat: str) -> None:
        ticket = await storage.turns.take("telegram", chat)
        async with storage.turns.hold("telegram", chat, ticket):
            inside[chat] += 1
            most[chat] = max(most[chat], inside[chat])
            if all(inside.values()):
                together.set()
            await together.wait()  # only the other chat's turn can end this wait: chats must not queue behind
            await asyncio.sleep(0.01)  # each other (a hang, caught below, if they did)
            inside[chat] -= 1

    try:
        async with asyncio.timeout(HANG_S):
            await asyncio.gather(*(handle(s, chat) for s in (a, b) for chat in ("42", "43") for _ in range(3)))
    except TimeoutError:
        pytest.fail("a turn of chat 42 and one of chat 43 were never held at the same time")
    assert most == {"42": 1, "43": 1}


async def test_a_lost_update_holds_its_chat_only_for_a_while(processes: list[Storage],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordination, "TURN_WAIT_S", 0.2)
    a, b, _ = processes
    await a.turns.take("telegram", "7")  # ticket 1: its process died after answering 200
    second = await b.turns.take("telegram", "7")
    started = time.monotonic()
    async with b.turns.hold("telegram", "7", second):
        pass
    # It waited for the lost update, then went on: after the 0.2 s set here, far sooner than the usual 10 s.
    assert 0.2 <= time.monotonic() - started < HANG_S


async def test_a_turn_needs_no_second_connection(url: str) -> None:
    storage = await open_storage(url, pool_size=1)  # the lock's connection is the only one
    try:
        async with storage.turns.hold("telegram", "9", await storage.turns.take("telegram", "9")):
            chat = (await storage.chats.snapshot("telegram", "9", "9")).chat
            await storage.chats.set_conversation(chat.id, "link.await_nik", "{}")
            await storage.link_attempts.record_failure([f"chat:{chat.id}"], datetime.now(UTC), 5, timedelta(hours=1))
        assert (await storage.chats.snapshot("telegram", "9", "9")).conversation is not None
    finally:
        await storage.close()


async def test_senders_share_one_rate_budget(processes: list[Storage]) -> None:
    rate, seconds = 50.0, 1.0
    buckets = [SharedBucket(s.budget, "telegram", rate) for s in processes]  # type: ignore[arg-type]
    stop = asyncio.Event()
    taken = [0, 0, 0]

    async def send(index: int) -> None:
        while not stop.is_set():
            taken[index] += await buckets[index].acquire(5, stop)

    started = time.monotonic()
    tasks = [asyncio.create_task(send(i)) for i in range(3)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    lasted = time.monotonic() - started  # the budget refills for as long as they ran: more than `seconds` if the
    assert sum(taken) <= rate * lasted + buckets[0].capacity + 1  # machine is busy; one budget, not three
    assert sum(taken) >= rate * seconds * 0.3  # (a loose floor: other work may share this machine's cores)
    assert sum(1 for n in taken if n) >= 2  # the senders shared it


async def test_answers_sent_by_another_process_hold_the_senders_until_repaid(processes: list[Storage]) -> None:
    """Answers go first and are debited afterwards, whatever the balance (issue 15.2): the senders get no token
    until what the answers spent has refilled."""
    a, b, _ = processes
    assert a.budget is not None and b.budget is not None
    await a.budget.debit("telegram", 5, 30.0, 1.0, -45.0)  # five answers sent by `a`'s process
    taken, wait = await b.budget.take("telegram", 5, 30.0, 1.0)
    assert taken == 0 and wait >= 4 / 30.0


async def test_a_429_pauses_every_sender(processes: list[Storage]) -> None:
    a, b, _ = processes
    assert a.budget is not None and b.budget is not None
    await a.budget.pause("telegram", 60.0)
    taken, wait = await b.budget.take("telegram", 5, 30.0, 1.0)
    assert taken == 0 and 60.0 - HANG_S < wait <= 60.0  # b waits out the pause a was told


async def test_a_chat_just_messaged_is_not_claimed_by_another_sender(processes: list[Storage]) -> None:
    a, b, _ = processes
    chat = (await a.chats.snapshot("telegram", "5", "5")).chat
    first = await a.outbox.notice(chat.id, "Satu", "system")
    await a.outbox.notice(chat.id, "Dua", "system")
    now = datetime.now(UTC) + timedelta(seconds=1)
    claimed = await a.outbox.claim("telegram", 5, now)
    assert [c.broadcast_id for c in claimed] == [first]  # one at a time per chat
    assert await b.outbox.claim("telegram", 5, now) == []  # in flight at sender a
    await a.outbox.mark_sent(claimed[0].id, "1001", now)
    assert await b.outbox.claim("telegram", 5, now) == []  # sent less than a second ago
    later = await b.outbox.claim("telegram", 5, now + timedelta(seconds=2))
    assert [c.chat.id for c in later] == [chat.id]
    assert (await b.outbox.get(first)).kind is BroadcastKind.NOTICE  # type: ignore[union-attr]


async def test_times_come_back_in_utc_whatever_the_sessions_time_zone(url: str) -> None:
    """A snapshot reads the account and the failed verifications as JSON, where PostgreSQL writes times in the
    session's time zone: they come back as the same moments, in UTC like every other time read."""
    storage = await open_storage(url, pool_size=1)
    try:
        chat = (await storage.chats.snapshot("telegram", "77", "77")).chat
        until = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
        await storage.link_attempts.record_failure([f"chat:{chat.id}"], until - timedelta(hours=1), 1,
                                                   timedelta(hours=1))
        async with storage.database.bind() as connection:  # type: ignore[attr-defined]  (the block's statements)
            await connection.execute("SET TIME ZONE 'Asia/Jakarta'")
            attempts = (await storage.chats.snapshot("telegram", "77", "77")).link_attempts
        assert attempts is not None and attempts.locked_until == until
        assert attempts.locked_until.utcoffset() == timedelta(0)
    finally:
        await storage.close()
