"""One storage test suite, run against every backend (the `storage` fixture is parametrised by backend).

Handlers rely on these behaviours; a backend that passes them can replace another without a handler noticing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import ImportConflict, ImportRow, Progress, Storage, open_storage
from storage.interface import StatusRecord
from storage.models import (
    Audience,
    AudienceCount,
    BroadcastKind,
    BroadcastState,
    DeliveryState,
    GuideGap,
    Platform,
    PostKind,
    PostState,
    RetentionCounts,
    RetentionCutoffs,
    TicketInput,
    Training,
    WaveResult,
)
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
    return ImportRow(f"hash{n}".encode(), f"+62812000000{n:02d}", f"Nama {n}", wave, result,
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


async def test_a_later_import_adds_a_person_of_two_waves_and_refuses_a_card_of_another(storage: Storage) -> None:
    await storage.accounts.import_rows([row(1)])
    counts = await storage.accounts.import_rows([row(1), row(3, wave=1), row(3, wave=2, result=None)])
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 1)  # a new NIK on two rows: one account
    (account,) = await storage.accounts.by_phone("+6281200000003")
    assert [s.wave.number for s in await storage.accounts.standings(account.id)] == [2, 1]
    thief = ImportRow(b"hash9", "+6281200000009", "Nama 9", 1, WaveResult.LOLOS, f"5{1:015d}", 10, line=7)
    with pytest.raises(ImportConflict) as refused:
        await storage.accounts.import_rows([row(4), thief])
    assert refused.value.lines == [7] and await storage.accounts.by_phone("+6281200000004") == []  # nothing written


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


async def test_verification_codes_are_limited_per_chat_number_and_hour(storage: Storage) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    at = [start + timedelta(minutes=m) for m in range(10)]
    siti, budi = "+6281100000001", "+6281100000002"
    assert await storage.link_codes.request(1, siti, at[0], 2, 3, 4) is None
    assert await storage.link_codes.request(1, budi, at[1], 2, 3, 4) is None
    assert await storage.link_codes.request(1, siti, at[2], 2, 3, 4) == at[0] + timedelta(hours=1)  # chat 1: 2
    assert await storage.link_codes.request(2, siti, at[3], 2, 3, 4) is None
    assert await storage.link_codes.request(3, siti, at[4], 2, 2, 4) == at[0] + timedelta(hours=1)  # siti: 2
    assert await storage.link_codes.request(4, budi, at[5], 2, 3, 4) is None
    # All chats together: 4 in the hour; a refused request is not counted, so the 4th place frees at at[0] + 1 h.
    assert await storage.link_codes.request(5, "+6281100000005", at[6], 2, 3, 4) == at[0] + timedelta(hours=1)
    assert await storage.link_codes.request(5, "+6281100000005", at[0] + timedelta(hours=1), 2, 3, 4) is None
    # Chat 1 and several limits at once: the latest time says when every limit has room.
    assert await storage.link_codes.request(1, budi, at[1] + timedelta(minutes=59), 1, 1, 9) == \
        at[5] + timedelta(hours=1)


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


async def test_catalogue_platforms_statistics_and_a_second_replacement(storage: Storage) -> None:
    platform = Platform("p1", "Satu", 1, "https://satu.example", ("satu.example",), {"id": {"offer": "Kursus"}})
    for price in (100, 300):  # replaced twice: the second replacement is what stays
        trainings = [Training(f"T{i}", "p1", f"Kursus {i}", f"Kategori {i % 2}", price * i, None, "https://t")
                     for i in (1, 2)]
        await storage.catalogue.replace([platform], trainings)
    assert await storage.catalogue.platforms() == [platform]
    assert await storage.catalogue.training_stats() == {"p1": (2, 300, 600)}
    assert await storage.catalogue.count_trainings() == 2
    assert await storage.catalogue.categories() == ["Kategori 0", "Kategori 1"]
    assert await storage.catalogue.training("T2") == trainings[1] and await storage.catalogue.training("T3") is None


async def test_audit_is_read_back_newest_first(storage: Storage) -> None:
    await storage.audit.record("9000002", "support", "lookup", "account:1", "alasan: tiket 12")
    await storage.audit.record("9000002", "support", "unlock", "account:1", None)
    entries = await storage.audit.for_subject("account:1")
    assert [e.action for e in entries] == ["unlock", "lookup"]


# --- the outbox, staff and webhooks (admin, support, web server) ------------------------------------------------

@pytest.fixture
def now() -> datetime:
    """A minute from now, in whole seconds (SQLite keeps seconds): what the test queues is ready by then."""
    return (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)


async def linked(storage: Storage, n: int, channel: str = "telegram", **kwargs: object) -> int:
    """Import applicant `n` (wave 1) and link it from chat `n` of `channel`; the chat's id."""
    await storage.accounts.import_rows([row(n, **kwargs)])  # type: ignore[arg-type]
    account = (await storage.accounts.by_phone(f"+62812000000{n:02d}"))[0]
    chat = (await storage.chats.snapshot(channel, f"{channel}-{n}", str(n))).chat
    await storage.chats.link(chat.id, account.id, str(n))
    return chat.id


async def expand(storage: Storage, broadcast_id: int, chunk: int = 1000) -> None:
    while not await storage.outbox.expand_step(broadcast_id, chunk):
        pass


async def test_publishing_results_queues_one_message_per_person_once(storage: Storage, now: datetime) -> None:
    first = await linked(storage, 1)
    await linked(storage, 2, result=WaveResult.TIDAK_LOLOS)
    whatsapp = (await storage.chats.snapshot("whatsapp", "wa-1", "wa-1")).chat
    await storage.chats.link(whatsapp.id, (await storage.accounts.by_phone("+6281200000001"))[0].id, "wa-1")
    assert await storage.outbox.count_results_audience(1) == AudienceCount(2, 1, 1)
    broadcast, published = await storage.outbox.publish_results(1, "9000001", "admin")
    assert published and (await storage.waves.get(1)).published  # type: ignore[union-attr]
    await expand(storage, broadcast.id, chunk=1)
    claims = await storage.outbox.claim("telegram", 10, now) + await storage.outbox.claim("whatsapp", 10, now)
    assert len(claims) == 2  # Siti is linked on two channels: one message
    assert {c.result for c in claims} == {WaveResult.LOLOS, WaveResult.TIDAK_LOLOS}
    for claim in claims:
        await storage.outbox.mark_sent(claim.id, f"m{claim.id}", now)
    again, published = await storage.outbox.publish_results(1, "9000001", "admin")
    assert again.id == broadcast.id and not published
    await expand(storage, again.id)
    assert await storage.outbox.claim("telegram", 10, now) == []  # publishing twice sends nothing twice
    assert await storage.outbox.finish(now) == [broadcast.id]
    stats = await storage.outbox.stats(await storage.outbox.get(broadcast.id), now)  # type: ignore[arg-type]
    assert (stats.sent, stats.pending, stats.total) == (2, 0, 2)
    views = await storage.outbox.for_chats([first, whatsapp.id], 10)
    assert [v.state for v in views] == [DeliveryState.SENT]


async def test_concurrent_claims_take_each_delivery_once(storage: Storage, now: datetime, target: str) -> None:
    for n in range(1, 31):
        await linked(storage, n)
    broadcast = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Halo")
    assert (await storage.outbox.start(broadcast.id)) is not None
    assert await storage.outbox.start(broadcast.id) is None  # confirmed twice: once
    await expand(storage, broadcast.id)
    other = await open_storage(target)  # a second sender: its own connection(s)
    try:
        batches = await asyncio.gather(*(s.outbox.claim("telegram", 4, now) for s in [storage, other] * 6))
    finally:
        await other.close()
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_a_dead_senders_deliveries_come_back_ambiguous(storage: Storage, now: datetime) -> None:
    chat = await linked(storage, 1)
    await storage.outbox.notice(chat, "Akun Anda dilepas oleh petugas.", "9000002")
    (claim,) = await storage.outbox.claim("telegram", 5, now)
    assert not claim.ambiguous and await storage.outbox.claim("telegram", 5, now) == []
    assert await storage.outbox.recover_stale(now - timedelta(minutes=1)) == 0  # its lease still runs
    assert await storage.outbox.recover_stale(now + timedelta(minutes=1)) == 1
    (again,) = await storage.outbox.claim("telegram", 5, now)
    assert again.id == claim.id and again.ambiguous
    await storage.outbox.mark_retry(again.id, now + timedelta(seconds=30), "429", attempt=False,
                                    throttled=again.broadcast_id)
    assert await storage.outbox.claim("telegram", 5, now) == []
    assert await storage.outbox.has_work("telegram", now) == now + timedelta(seconds=30)
    assert (await storage.outbox.get(again.broadcast_id)).throttled == 1  # type: ignore[union-attr]


async def test_blocked_chat_gets_nothing_more_and_cancel_stops_the_rest(storage: Storage, now: datetime) -> None:
    chat = await linked(storage, 1)
    await linked(storage, 2)
    first = await storage.outbox.notice(chat, "Satu", "system")
    second = await storage.outbox.notice(chat, "Dua", "system")
    claim = next(c for c in await storage.outbox.claim("telegram", 1, now) if c.broadcast_id == first)
    await storage.outbox.mark_blocked(claim.id, chat, "Forbidden: bot was blocked by the user")
    assert (await storage.chats.get(chat)).blocked  # type: ignore[union-attr]
    assert [v.state for v in await storage.outbox.for_chats([chat], 5)] == [DeliveryState.BLOCKED] * 2
    assert second > first
    audience = Audience()
    assert (await storage.outbox.count_audience(audience)).total == 1  # the blocked chat is not counted
    broadcast = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Halo", audience=audience)
    await storage.outbox.start(broadcast.id)
    await expand(storage, broadcast.id)
    cancelled = await storage.outbox.set_state(broadcast.id, BroadcastState.CANCELLED,
                                               [BroadcastState.RUNNING, BroadcastState.PAUSED])
    assert cancelled is not None and cancelled.state is BroadcastState.CANCELLED
    assert await storage.outbox.cancel_pending() == 1
    assert await storage.outbox.claim("telegram", 5, now) == []


async def test_scheduled_broadcast_starts_when_due(storage: Storage, now: datetime) -> None:
    await linked(storage, 1)
    draft = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Besok")
    edited = await storage.outbox.edit_draft(draft.id, video_url="https://www.prakerja.go.id/")
    assert edited is not None and edited.video_url == "https://www.prakerja.go.id/"
    scheduled = await storage.outbox.start(draft.id, now + timedelta(hours=1))
    assert scheduled is not None and scheduled.state is BroadcastState.SCHEDULED
    assert await storage.outbox.start_due(now) == []
    assert await storage.outbox.start_due(now + timedelta(hours=1)) == [draft.id]
    assert [b.id for b in await storage.outbox.recent(5, now)] == [draft.id]


async def test_audiences_by_channel_gap_and_unlinked_chats(storage: Storage, now: datetime) -> None:
    telegram = await linked(storage, 1)
    whatsapp = await linked(storage, 2, channel="whatsapp")
    await storage.chats.mark_progress(telegram, Progress.VIDEO_WATCHED)
    stranger = (await storage.chats.snapshot("telegram", "stranger", "stranger")).chat.id
    quiet = (await storage.chats.snapshot("telegram", "quiet", "quiet")).chat.id
    await storage.chats.set_opted_out(quiet, True)
    for audience, chats in ((Audience(channel="whatsapp"), {whatsapp}), (Audience(gap=GuideGap.VIDEO), {whatsapp}),
                            (Audience(unlinked=True), {telegram, whatsapp, stranger})):
        assert (await storage.outbox.count_audience(audience)).total == len(chats)
        broadcast = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Halo", audience=audience)
        await storage.outbox.start(broadcast.id)
        await expand(storage, broadcast.id, chunk=1)
        claims = await storage.outbox.claim("telegram", 10, now) + await storage.outbox.claim("whatsapp", 10, now)
        assert {c.chat.id for c in claims} == chats
        for claim in claims:
            await storage.outbox.skip(claim.id, DeliveryState.CANCELLED, "test")


async def test_a_retry_stays_ambiguous_and_a_released_delivery_goes_again(storage: Storage, now: datetime) -> None:
    chat = await linked(storage, 1)
    await storage.outbox.notice(chat, "Satu", "system")
    (claim,) = await storage.outbox.claim("telegram", 5, now)
    await storage.outbox.mark_retry(claim.id, now, "timeout", attempt=True, ambiguous=True)
    (again,) = await storage.outbox.claim("telegram", 5, now)
    assert again.ambiguous and again.attempts == 1
    await storage.outbox.mark_retry(again.id, now, "500", attempt=True)  # a later plain error keeps the doubt
    (third,) = await storage.outbox.claim("telegram", 5, now)
    assert third.ambiguous and third.attempts == 2
    await storage.outbox.release(third.id, now)
    assert [c.id for c in await storage.outbox.claim("telegram", 5, now)] == [claim.id]
    draft = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Foto")
    await storage.outbox.edit_draft(draft.id, photo="photo-1")
    cleared = await storage.outbox.edit_draft(draft.id, body="Tanpa foto", clear_photo=True)
    assert cleared is not None and (cleared.photo, cleared.body) == (None, "Tanpa foto")


async def test_roles_staff_lookups_and_audit(storage: Storage, now: datetime) -> None:
    chat = await linked(storage, 1)
    assert await storage.roles.set("telegram", "777", "support", "9000001", "tiket 3") is None
    assert await storage.roles.set("telegram", "777", "admin", "9000001") == "support"
    (grant,) = await storage.roles.unsynced()
    await storage.roles.mark_synced(grant)
    assert await storage.roles.unsynced() == [] and [g.role for g in await storage.roles.granted()] == ["admin"]
    assert (await storage.chats.snapshot("telegram", "777", "777")).granted_role == "admin"
    (summary,) = await storage.staff.wave_summaries()
    assert (summary.accounts, summary.lolos, summary.linked_chats) == (1, 1, 1)
    account = (await storage.staff.find_accounts(card=f"5{1:015d}"))[0]
    assert [c.id for c in await storage.staff.chats_of(account.id)] == [chat]
    assert [c.id for c in await storage.staff.find_chats("telegram-1")] == [chat]
    keys = [f"chat:{chat}", "phone:+6281200000001"]
    await storage.link_attempts.record_failure(keys, now, 1, timedelta(hours=1))
    assert [k for k, lock in await storage.staff.locks(keys) if lock.locked_until] == sorted(keys)
    assert await storage.staff.clear_locks(keys, "9000002", "support", f"account:{account.id}", "tiket 9") == 2
    entry = await storage.staff.audit("9000002", "support", "lookup", f"account:{account.id}", "tiket 9")
    assert (await storage.staff.audit_entry(entry)).action == "lookup"  # type: ignore[union-attr]
    assert [e.action for e in await storage.staff.search_audit("account", 10)][:2] == ["lookup", "unlock"]
    access = await storage.staff.staff_access([f"account:{account.id}", f"chat:{chat}"], 10)
    assert {e.role for e in access} == {"support"}
    assert await storage.staff.search_audit("acc_unt", 10) == []  # a term's _ and % match only themselves
    other = (await storage.chats.snapshot("whatsapp", "telegram-1", "x")).chat.id  # the same id on another channel
    assert [c.id for c in await storage.staff.find_chats("telegram-1")] == [chat, other]


async def test_webhook_ids_whatsapp_state_and_metrics(storage: Storage, now: datetime) -> None:
    assert await storage.webhooks.first_seen("telegram", "501", now)
    assert not await storage.webhooks.first_seen("telegram", "501", now)  # a redelivery
    await storage.whatsapp.receive("6281200000001", None, now)
    assert await storage.whatsapp.last_inbound(["6281200000001", "628999"]) == {"6281200000001": now}
    await storage.whatsapp.set_choices("6281200000001", '["hasil"]', now)
    assert await storage.whatsapp.reply_state("6281200000001") == ("id", '["hasil"]')
    for status in ("read", "delivered"):  # out of order: the furthest one stays
        await storage.whatsapp.record_statuses([StatusRecord("wamid.OUT", "6281200000001", status, None, now)])
    assert await storage.whatsapp.statuses(["wamid.OUT"]) == {"wamid.OUT": "read"}
    assert await storage.whatsapp.status_counts() == {"read": 1}
    for user in ("a", "b"):
        await storage.whatsapp.initiated(user, now)
    held = await storage.whatsapp.tier_state("c", now + timedelta(hours=1), 2)
    assert not held.allowed and held.counted == 2 and held.free_at == now + timedelta(hours=24)
    assert (await storage.whatsapp.tier_state("a", now, 2)).allowed
    assert await storage.webhooks.prune(now + timedelta(days=8)) >= 2
    assert await storage.webhooks.first_seen("telegram", "501", now + timedelta(days=8))
    counts = await storage.metrics.counts(now)
    assert counts.link_failures == 0 and counts.deliveries == {}
    await storage.metrics.ping()


async def test_the_inbox_stores_each_update_once_and_keeps_only_the_id_once_done(storage: Storage,
                                                                                  now: datetime) -> None:
    first = [(str(n), f'{{"update_id": {n}}}') for n in (7, 3, 9)]
    assert await storage.inbox.accept("telegram", first, now) == {"7", "3", "9"}
    assert await storage.inbox.accept("telegram", [("9", "again"), ("10", "{}")], now) == {"10"}  # 9: a redelivery
    assert await storage.inbox.accept("whatsapp", [("9", "wa")], now) == {"9"}  # ids are per channel
    assert [e.update_id for e in await storage.inbox.unfinished("telegram")] == ["7", "3", "9", "10"]  # as they came
    assert (await storage.inbox.unfinished("telegram"))[2].payload == '{"update_id": 9}'
    assert await storage.inbox.done("telegram", ["3", "9"], now) == 2
    assert [e.update_id for e in await storage.inbox.unfinished("telegram")] == ["7", "10"]
    assert await storage.inbox.accept("telegram", [("3", "{}")], now) == set()  # handled: still known
    payloads = await storage.database.fetchall("SELECT payload FROM inbox WHERE done_at IS NOT NULL")
    assert [r[0] for r in payloads] == [None, None]  # nothing of a handled update is kept but its id
    many = [(f"m{n}", "{}") for n in range(450)]  # more than one statement's rows
    assert len(await storage.inbox.accept("whatsapp", many, now)) == 450
    await storage.inbox.probe(now)  # /healthz's write: a row of its own, never an update to handle
    await storage.inbox.probe(now)
    assert [e.update_id for e in await storage.inbox.unfinished("telegram")] == ["7", "10"]
    assert await storage.inbox.prune(now + timedelta(days=8)) == 3
    assert await storage.inbox.accept("telegram", [("3", "{}")], now) == {"3"}


async def test_whatsapp_windows_replies_and_a_failure_found_after_sending(storage: Storage, now: datetime) -> None:
    await storage.whatsapp.receive("628111", "bsuid-1", now)
    await storage.whatsapp.receive("628111", None, now - timedelta(hours=1))  # came in late
    assert await storage.whatsapp.last_inbound(["628111"]) == {"628111": now}  # the later message counts
    assert await storage.whatsapp.reply_state("628999") == ("id", None)  # a chat never seen
    chat = (await storage.chats.snapshot("whatsapp", "628111", "628111")).chat
    await storage.chats.set_locale(chat.id, "en")
    assert await storage.whatsapp.reply_state("628111") == ("en", None)
    account_chat = await linked(storage, 1, channel="whatsapp")
    await storage.outbox.notice(account_chat, "Halo", "system")
    (claim,) = await storage.outbox.claim("whatsapp", 5, now)
    await storage.outbox.mark_sent(claim.id, "wamid.OUT", now)
    await storage.whatsapp.record_statuses([StatusRecord("wamid.OUT", "6281200000001", "sent", None, now),
                                            StatusRecord("wamid.OUT", "6281200000001", "failed", 131026, now)])
    assert await storage.whatsapp.delivery_statuses(claim.broadcast_id) == {"failed": 1}
    (view,) = await storage.outbox.for_chats([account_chat], 5)
    assert view.state is DeliveryState.FAILED and "131026" in (view.error or "")
    await storage.whatsapp.initiated("628111", now)
    await storage.whatsapp.initiated("628111", now + timedelta(hours=2))  # within the window: not a new one
    held = await storage.whatsapp.tier_state("628222", now + timedelta(hours=3), 1)
    assert not held.allowed and held.free_at == now + timedelta(hours=24)


# --- tickets of the hand-off to support staff (issue 8) ---------------------------------------------------------
async def _ticket_chat(storage: Storage, external: str) -> int:
    return (await storage.chats.snapshot("telegram", external, external)).chat.id


async def test_a_chat_has_one_open_ticket_whose_messages_wait_for_the_desk(storage: Storage, now: datetime) -> None:
    chat = await _ticket_chat(storage, "4001")
    ticket, created = await storage.tickets.open(chat, None, "+62812****0001", "4001", now)
    again, created_again = await storage.tickets.open(chat, None, "+62812****0001", "4001", now)
    assert created and not created_again and again.id == ticket.id and ticket.is_open
    assert (await storage.tickets.current(chat)).id == ticket.id  # type: ignore[union-attr]
    assert await storage.tickets.opened_since(chat, now - timedelta(hours=1)) == [now]  # the limit per hour
    assert await storage.tickets.opened_since(chat, now) == []
    window = timedelta(minutes=1)
    first = await storage.tickets.receive(ticket.id, "4001", TicketInput(PostKind.TEXT, "Halo"), now, 10, window)
    assert not first.refused and first.previous_at is None
    await storage.tickets.receive(ticket.id, "4001", TicketInput(PostKind.PHOTO, "", "file-1", None, 10), now, 10,
                                  window)
    (batch,) = await storage.tickets.claim(5, now, timedelta(seconds=60))
    assert batch.ticket.id == ticket.id and [m.kind for m in batch.messages] == [PostKind.TEXT, PostKind.PHOTO]
    assert await storage.tickets.claim(5, now, timedelta(seconds=60)) == []  # held by the first worker
    later = await storage.tickets.claim(5, now + timedelta(seconds=61), timedelta(seconds=60))
    assert [b.ticket.id for b in later] == [ticket.id]  # that worker died: the lease passed
    await storage.tickets.set_topic(ticket.id, 777)
    assert not await storage.tickets.was_posted(ticket.id)
    for message in batch.messages:
        await storage.tickets.posted(message.id, "9001")
    await storage.tickets.release(ticket.id)
    assert await storage.tickets.claim(5, now, timedelta(seconds=60)) == []
    assert (await storage.tickets.by_topic(777)).id == ticket.id  # type: ignore[union-attr]
    assert await storage.tickets.was_posted(ticket.id)
    await storage.tickets.topic_lost(ticket.id, 777)
    assert await storage.tickets.by_topic(777) is None
    states = [m.state for m in await storage.tickets.messages(ticket.id)]
    assert states == [PostState.POSTED, PostState.POSTED]
    waiting = await storage.tickets.get(ticket.id)
    assert waiting is not None and waiting.waiting_since == now


async def test_a_flooding_chat_is_refused_and_told_once(storage: Storage, now: datetime) -> None:
    chat = await _ticket_chat(storage, "4002")
    ticket, _ = await storage.tickets.open(chat, None, "x", "4002", now)
    window = timedelta(minutes=1)
    text = TicketInput(PostKind.TEXT, "lagi")
    answers = [await storage.tickets.receive(ticket.id, "4002", text, now + timedelta(seconds=i), 3, window)
               for i in range(5)]
    assert [(a.refused, a.first_refusal) for a in answers] == [(False, False)] * 3 + [(True, True), (True, False)]
    assert answers[2].previous_at == now + timedelta(seconds=1)
    calm = await storage.tickets.receive(ticket.id, "4002", text, now + timedelta(minutes=3), 3, window)
    assert not calm.refused
    (batch,) = await storage.tickets.claim(5, now, timedelta(seconds=60))
    assert len(batch.messages) == 4  # the refused ones are kept, never posted


async def test_answer_close_rate_and_the_summary(storage: Storage, now: datetime) -> None:
    chat, other = await _ticket_chat(storage, "4003"), await _ticket_chat(storage, "4004")
    ticket, _ = await storage.tickets.open(chat, None, "a", "4003", now)
    second, _ = await storage.tickets.open(other, None, "b", "4004", now + timedelta(minutes=5))
    await storage.tickets.receive(ticket.id, "4003", TicketInput(PostKind.TEXT, "?"), now, 10, timedelta(minutes=1))
    await storage.tickets.receive(second.id, "4004", TicketInput(PostKind.TEXT, "?"), now + timedelta(minutes=5), 10,
                                  timedelta(minutes=1))
    await storage.audit.record("5005", "applicant", "desk_removed", "group:-100", "kicked")
    summary = await storage.tickets.summary(now - timedelta(days=7), 10)
    assert (summary.open, summary.waiting, summary.queued_posts) == (2, 2, 2)
    assert [t.id for t in summary.oldest] == [ticket.id, second.id] and summary.oldest_wait == now
    assert summary.desk_removed_at is not None
    await storage.tickets.answered(ticket.id, "9000002", "support", "Sudah kami cek", 42, now + timedelta(minutes=1))
    answered = await storage.tickets.get(ticket.id)
    assert answered is not None and answered.waiting_since is None and answered.assignee == "9000002"
    closed = await storage.tickets.close(ticket.id, "9000002", "support", "", now + timedelta(minutes=2))
    assert closed is not None and not closed.is_open and closed.closed_by == "9000002"
    assert await storage.tickets.close(ticket.id, "9000002", "support", "", now) is None  # closed once
    assert await storage.tickets.current(chat) is None
    assert not await storage.tickets.rate(ticket.id, other, 5, "4004", "n", now)  # not their ticket
    assert not await storage.tickets.rate(second.id, other, 5, "4004", "n", now)  # still open
    assert await storage.tickets.rate(ticket.id, chat, 5, "4003", "n", now)
    assert not await storage.tickets.rate(ticket.id, chat, 1, "4003", "n", now)  # once
    await storage.audit.record("5005", "admin", "desk_added", "group:-100", "administrator")
    summary = await storage.tickets.summary(now - timedelta(days=7), 10)
    assert (summary.open, summary.waiting, summary.desk_removed_at) == (1, 1, None)
    (load,) = summary.staff
    assert (load.staff, load.open, load.closed, load.rating, load.ratings) == ("9000002", 0, 1, 5.0, 1)
    actions = [e.action for e in await storage.audit.for_subject(f"ticket:{ticket.id}")]
    assert {"ticket_open", "ticket_message", "ticket_reply", "ticket_close", "ticket_rating"} <= set(actions)


async def test_two_desk_workers_never_take_the_same_ticket(storage: Storage, now: datetime) -> None:
    for n in range(6):
        chat = await _ticket_chat(storage, f"41{n}")
        ticket, _ = await storage.tickets.open(chat, None, str(n), f"41{n}", now)
        await storage.tickets.receive(ticket.id, f"41{n}", TicketInput(PostKind.TEXT, "?"), now, 10,
                                      timedelta(minutes=1))
    first, second = await asyncio.gather(*(storage.tickets.claim(4, now, timedelta(seconds=60)) for _ in range(2)))
    taken = [b.ticket.id for b in first] + [b.ticket.id for b in second]
    assert len(taken) == len(set(taken)) == 6


async def test_retention_deletes_only_what_is_older_than_its_cutoff(storage: Storage, now: datetime) -> None:
    old, recent = now - timedelta(days=400), now - timedelta(days=1)
    kept_open, closed_old, closed_recent = [
        (await storage.tickets.open(await _ticket_chat(storage, f"50{n}"), None, "x", f"50{n}", old))[0]
        for n in range(3)]
    window = timedelta(minutes=1)
    for ticket in (kept_open, closed_old, closed_recent):
        await storage.tickets.receive(ticket.id, "x", TicketInput(PostKind.TEXT, "NIK saya ****"), old, 10, window)
    await storage.tickets.close(closed_old.id, "9000002", "support", "selesai", old)
    await storage.tickets.close(closed_recent.id, "9000002", "support", "selesai", recent)
    for n in range(1, 4):
        await linked(storage, n)
    broadcast = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Halo")
    await storage.outbox.start(broadcast.id)
    await expand(storage, broadcast.id)
    sent_old, sent_recent, pending = await storage.outbox.claim("telegram", 10, now)
    await storage.outbox.mark_sent(sent_old.id, "m1", old)
    await storage.outbox.mark_sent(sent_recent.id, "m2", recent)
    await storage.outbox.release(pending.id, old)  # still to send, however old: kept
    await storage.database.execute("UPDATE audit_log SET at = ?", (old,))
    await storage.audit.record("9000001", "admin", "lookup", "account:1")
    audit_before = len(await storage.audit.recent(1000))
    cutoffs = RetentionCutoffs(tickets=now - timedelta(days=180), audit=now - timedelta(days=365),
                               deliveries=now - timedelta(days=90))
    expected = RetentionCounts(tickets=1, ticket_messages=2, audit=audit_before - 1, deliveries=1)  # + the closing note
    assert await storage.retention.counts(cutoffs) == expected  # the dry run deletes nothing
    assert await storage.retention.counts(cutoffs) == expected
    assert await storage.retention.purge(cutoffs) == expected
    assert await storage.retention.counts(cutoffs) == RetentionCounts()
    assert await storage.tickets.get(closed_old.id) is None and await storage.tickets.messages(closed_old.id) == []
    assert await storage.tickets.get(closed_recent.id) is not None and await storage.tickets.get(kept_open.id)
    assert [e.action for e in await storage.audit.recent(1000)] == ["lookup"]
    views = await storage.outbox.for_chats([c.chat.id for c in (sent_old, sent_recent, pending)], 10)
    assert sorted(v.state for v in views) == sorted([DeliveryState.SENT, DeliveryState.PENDING])


async def test_the_imported_faq_is_one_row_replaced_and_audited(storage: Storage, now: datetime) -> None:
    assert await storage.faq.current() is None and await storage.faq.version() is None  # the shipped one answers
    await storage.faq.replace("[[entry]]\n", "v1", 16, "telegram:9000001", "admin", now)
    await storage.faq.replace("[[entry]] # baru\n", "v2", 17, "cli", "admin", now + timedelta(minutes=1))
    stored = await storage.faq.current()
    assert stored is not None and (stored.body, stored.version, stored.entries, stored.imported_by) == (
        "[[entry]] # baru\n", "v2", 17, "cli")
    assert await storage.faq.version() == "v2"
    assert [(e.actor, e.action) for e in await storage.audit.recent()][:2] == [("cli", "faq_import"),
                                                                              ("telegram:9000001", "faq_import")]


async def test_messages_not_understood_are_counted_per_day_and_listed_most_frequent_first(storage: Storage) -> None:
    for day, text in [("2026-12-01", "resep rendang"), ("2026-12-05", "cuaca besok"), ("2026-12-05", "resep rendang"),
                      ("2026-12-06", "resep rendang"), ("2026-12-06", "resep rendang"), ("2026-12-06", "cuaca besok")]:
        await storage.unmatched.add(day, text, "id")
    top = await storage.unmatched.top("2026-12-05", 10)
    assert [(u.text, u.count, u.days, u.last_day) for u in top] == [("resep rendang", 3, 2, "2026-12-06"),
                                                                     ("cuaca besok", 2, 2, "2026-12-06")]
    assert [u.text for u in await storage.unmatched.top("2026-12-01", 1)] == ["resep rendang"]
    assert await storage.unmatched.prune("2026-12-05") == 1
    assert (await storage.unmatched.top("2026-01-01", 10))[0].count == 3
