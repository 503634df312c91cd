"""SQLite: statements of concurrent chats go to the database thread in batches sharing one transaction, each job in
a savepoint, a unit of work in one round trip; the platforms are kept in the process until the catalogue changes,
here or in another process; the chat's failed verifications come with its snapshot (both backends)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Storage, open_storage
from storage.core import Unit, count, value
from storage.models import Platform
from storage.sqlite.database import Database
from tests.auxil.postgres import fresh_schema, require_postgres


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "batches.sqlite3")
    await db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    yield db
    await db.close()


def _fail_after_write(connection: sqlite3.Connection, text: str) -> None:
    connection.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    raise RuntimeError("the job fails after its first statement")


async def test_a_failing_statement_does_not_undo_the_others_of_its_batch(database: Database) -> None:
    await database.execute("INSERT INTO notes (text) VALUES ('taken')")
    batches = database.batches
    inserts = [database.execute("INSERT INTO notes (text) VALUES (?)", (f"note {i}",)) for i in range(20)]
    results = await asyncio.gather(
        *inserts,
        database.execute("INSERT INTO notes (text) VALUES ('taken')"),  # a constraint violation: the caller sees it
        database.run(_fail_after_write, "half done"),  # all or nothing, inside the batch as alone
        return_exceptions=True,
    )
    assert results[:20] == [1] * 20
    assert isinstance(results[20], sqlite3.IntegrityError)
    assert isinstance(results[21], RuntimeError)
    assert database.batches - batches < len(results)  # they did share batches
    rows = await database.fetchall("SELECT text FROM notes ORDER BY id")
    assert [r["text"] for r in rows] == ["taken", *(f"note {i}" for i in range(20))]


def _note_both(first: str, second: str) -> Unit[int]:
    """A unit of work: two inserts, all or nothing; the number of notes it then sees."""
    yield count("INSERT INTO notes (text) VALUES (?)", (first,))
    yield count("INSERT INTO notes (text) VALUES (?)", (second,))
    return (yield value("SELECT count(*) FROM notes"))


async def test_a_unit_of_work_is_one_round_trip_and_all_or_nothing_within_its_batch(database: Database) -> None:
    hops = database.hops
    assert await database.unit(_note_both, "a", "b") == 2
    assert database.hops - hops == 1  # both inserts and the count: one trip to the database thread
    results = await asyncio.gather(
        database.unit(_note_both, "c", "a"),  # its second insert fails: its first is undone with it
        database.execute("INSERT INTO notes (text) VALUES ('d')"),  # the same batch goes on
        return_exceptions=True,
    )
    assert isinstance(results[0], sqlite3.IntegrityError) and results[1] == 1
    assert [r["text"] for r in await database.fetchall("SELECT text FROM notes ORDER BY id")] == ["a", "b", "d"]


async def test_reads_are_answered_while_another_process_holds_the_write_lock(database: Database) -> None:
    # e.g. `python -m bot import` writing for seconds while the bot answers: in WAL readers never wait for it.
    await database.execute("INSERT INTO notes (text) VALUES ('committed')")
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (text) VALUES ('not yet')")
    try:
        reads = [database.fetchall("SELECT text FROM notes") for _ in range(5)]  # one batch of reads
        results = await asyncio.wait_for(asyncio.gather(*reads), timeout=2)  # the busy timeout is 5 s
        assert all([r["text"] for r in rows] == ["committed"] for rows in results)
    finally:
        other.execute("ROLLBACK")
        other.close()


PLATFORM = Platform("ruang", "Ruang", 1, "https://ruang.example", ("ruang.example",), {"id": {"offer": "Kursus"}})


async def test_platforms_changed_by_another_process_show_at_the_next_update(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite3"
    storage = await open_storage(str(path))
    try:
        await storage.catalogue.replace([PLATFORM], [])
        assert [p.name for p in await storage.catalogue.platforms()] == ["Ruang"]
        other = sqlite3.connect(path)  # e.g. `python -m bot import-catalogue` while the bot runs
        with other:
            other.execute("UPDATE platforms SET name = 'Ruang Baru'")
        other.close()
        await storage.chats.snapshot("telegram", "42", "42")  # the next update
        assert [p.name for p in await storage.catalogue.platforms()] == ["Ruang Baru"]
        assert await storage.catalogue.training_stats() == {}
    finally:
        await storage.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "sqlite":
        opened = await open_storage(str(tmp_path / "storage.sqlite3"))
        yield opened
        await opened.close()
        return
    async with fresh_schema(require_postgres()) as url:
        opened = await open_storage(url)
        yield opened
        await opened.close()


async def test_the_snapshot_carries_the_chats_failed_verifications(storage: Storage) -> None:
    first = await storage.chats.snapshot("telegram", "77", "77")
    assert first.link_attempts is None
    now = datetime.now(UTC)
    await storage.link_attempts.record_failure([f"chat:{first.chat.id}", "phone:+6281200000001"], now, 2,
                                               timedelta(hours=1))
    await storage.link_attempts.record_failure([f"chat:{first.chat.id}"], now, 2, timedelta(hours=1))
    again = await storage.chats.snapshot("telegram", "77", "77")
    assert again.link_attempts is not None and again.link_attempts.failures == 2
    assert again.link_attempts.locked_until is not None and again.link_attempts.locked_until > now
