"""One storage test suite, run against every backend (the `storage` fixture is parametrised by backend).

Handlers rely on these behaviours; a backend that passes them can replace another without a handler noticing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import ImportRow, Progress, Storage, open_storage
from storage.models import Platform, Training, WaveResult
from tests.auxil.postgres import fresh_schema, require_postgres

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Where the test's database lives: a SQLite file, or a fresh PostgreSQL schema (skipped without a server)."""
    if request.param == "sqlite":
        yield str(tmp_path / "storage.sqlite3")
        return
    async with fresh_schema(require_postgres()) as url:
        yield url


@pytest.fixture
async def storage(target: str) -> AsyncIterator[Storage]:
    opened = await open_storage(target)
    yield opened
    await opened.close()


def row(n: int, wave: int = 1, result: WaveResult | None = WaveResult.LOLOS, balance: int | None = 100) -> ImportRow:
    lolos = result is WaveResult.LOLOS
    return ImportRow(f"hash{n}", f"+62812000000{n:02d}", f"Nama {n}", wave, result,
                     f"5{n:015d}" if lolos else None, balance if lolos else None)


async def test_snapshot_registers_a_chat_once_and_touches_last_seen(storage: Storage) -> None:
    first = await storage.chats.snapshot("telegram", "42", "42")
    second = await storage.chats.snapshot("telegram", "42", "42")
    assert first.chat.id == second.chat.id
    assert second.chat.last_seen >= first.chat.last_seen
    assert second.account is None and second.conversation is None
    other = await storage.chats.snapshot("whatsapp", "42", "42")
    assert other.chat.id != first.chat.id  # chat ids are per channel


async def test_conversation_survives_reopen(storage: Storage, target: str) -> None:
    chat = (await storage.chats.snapshot("telegram", "1", "1")).chat
    await storage.chats.set_conversation(chat.id, "link.await_nik", '{"phone":"+6281200000001"}')
    reopened = await open_storage(target)  # another connection (another process would see the same)
    try:
        snap = await reopened.chats.snapshot("telegram", "1", "1")
        assert snap.conversation is not None and snap.conversation.step == "link.await_nik"
        await reopened.chats.clear_conversation(chat.id)
        assert (await reopened.chats.snapshot("telegram", "1", "1")).conversation is None
    finally:
        await reopened.close()
    assert (await storage.chats.snapshot("telegram", "1", "1")).conversation is None


async def test_import_then_link_moves_between_chats_of_one_channel(storage: Storage) -> None:
    counts = await storage.accounts.import_rows([row(1), row(2, result=WaveResult.TIDAK_LOLOS)])
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    account = (await storage.accounts.by_phone("+6281200000001"))[0]
    a = (await storage.chats.snapshot("telegram", "100", "100")).chat
    b = (await storage.chats.snapshot("telegram", "200", "200")).chat
    w = (await storage.chats.snapshot("whatsapp", "6281200000001", "6281200000001")).chat
    assert await storage.chats.link(a.id, account.id, "100") is None
    assert await storage.chats.link(w.id, account.id, "wa") is None  # another channel: both stay linked
    moved = await storage.chats.link(b.id, account.id, "200")
    assert moved is not None and moved.id == a.id
    assert {c.id for c in await storage.chats.for_account(account.id)} == {b.id, w.id}
    assert await storage.chats.unlink(b.id, "200") == account.id
    assert await storage.chats.unlink(b.id, "200") is None


async def test_reimport_counts_unchanged_and_updated(storage: Storage) -> None:
    await storage.accounts.import_rows([row(1), row(2)])
    again = await storage.accounts.import_rows([row(1), row(2, balance=50)])
    assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    account = (await storage.accounts.by_phone("+6281200000002"))[0]
    assert account.balance == 50


async def test_standings_hide_nothing_but_report_publication(storage: Storage) -> None:
    await storage.accounts.import_rows([row(1, wave=1), row(1, wave=2, result=None)])
    account = (await storage.accounts.by_phone("+6281200000001"))[0]
    assert await storage.waves.publish(1)
    assert not await storage.waves.publish(1)  # publishing twice changes nothing
    standings = {s.wave.number: s for s in await storage.accounts.standings(account.id)}
    assert standings[1].wave.published and standings[1].result is WaveResult.LOLOS
    assert not standings[2].wave.published and standings[2].result is None


async def test_link_attempts_lock_and_expire(storage: Storage) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    keys = ["chat:1", "phone:+6281200000001"]
    for _ in range(4):
        lock = await storage.link_attempts.record_failure(keys, now, 5, timedelta(hours=1))
    assert lock.failures == 4 and lock.locked_until is None
    lock = await storage.link_attempts.record_failure(keys, now, 5, timedelta(hours=1))
    assert lock.locked_until == now + timedelta(hours=1)
    # The phone key alone (another chat, another channel) is locked too.
    assert (await storage.link_attempts.state(["chat:9", "phone:+6281200000001"], now)).locked_until is not None
    later = now + timedelta(hours=1, seconds=1)
    assert (await storage.link_attempts.state(keys, later)).locked_until is None
    lock = await storage.link_attempts.record_failure(keys, later, 5, timedelta(hours=1))
    assert lock.failures == 1  # an expired lock starts the count again
    await storage.link_attempts.clear(keys)
    assert (await storage.link_attempts.state(keys, later)).failures == 0


async def test_progress_keeps_the_first_time(storage: Storage) -> None:
    chat = (await storage.chats.snapshot("telegram", "5", "5")).chat
    await storage.chats.mark_progress(chat.id, Progress.VIDEO_WATCHED)
    first = (await storage.chats.get(chat.id)).video_watched_at  # type: ignore[union-attr]
    await storage.chats.mark_progress(chat.id, Progress.VIDEO_WATCHED)
    assert (await storage.chats.get(chat.id)).video_watched_at == first  # type: ignore[union-attr]


async def test_catalogue_search_by_words_budget_and_pages(storage: Storage) -> None:
    platforms = [Platform("p1", "Satu", 1, "https://satu.example", ("satu.example",), {"id": {}})]
    trainings = [
        Training(f"T{i}", "p1", f"Kursus Barista {i}", "Kuliner", 100_000 * i, 10, "https://satu.example/t")
        for i in range(1, 8)
    ]
    await storage.catalogue.replace(platforms, trainings)
    found, total = await storage.catalogue.search_trainings(["barista"], 500_000, 0, 3)
    assert total == 5 and [t.id for t in found] == ["T1", "T2", "T3"]
    found, total = await storage.catalogue.search_trainings(["BARISTA", "kuliner"], None, 6, 3)
    assert total == 7 and [t.id for t in found] == ["T7"]
    found, total = await storage.catalogue.search_trainings(["barista"], None, 30, 3)
    assert found == [] and total == 7


async def test_audit_is_read_back_newest_first(storage: Storage) -> None:
    await storage.audit.record("9000002", "support", "lookup", "account:1", "alasan: tiket 12")
    await storage.audit.record("9000002", "support", "unlock", "account:1", None)
    entries = await storage.audit.for_subject("account:1")
    assert [e.action for e in entries] == ["unlock", "lookup"]
