"""PostgreSQL's import of the registry (`Accounts.import_rows`): streamed by COPY, merged in the same transaction.

The rows go with one COPY into a temporary table (the iterable may validate lazily and raise to abort: the
transaction then rolls back and nothing is written), then are merged set-based. MVCC keeps the bot's other writes
going meanwhile; only the accounts the merge touches wait for its commit. One import at a time across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from storage.core import Unit, count, now_utc
from storage.models import ImportCounts, ImportRow
from storage.postgres.database import Database
from storage.repositories.registry import check_conflicts, import_counts, merge_known, plan_counts, plan_select

COPY_YIELD_EVERY = 5_000  # rows streamed into COPY between two turns of the event loop
IMPORT_LOCK = "prakerja.import"  # one import at a time across processes (advisory lock key, hashed)
STAGE, PLAN, SAME = "import_staging", "import_plan", "IS NOT DISTINCT FROM"


async def import_rows(db: Database, source: Iterable[ImportRow]) -> ImportCounts:
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", IMPORT_LOCK)
        await conn.execute(
            f"CREATE TEMP TABLE {STAGE} (seq bigint GENERATED ALWAYS AS IDENTITY, nik_hash bytea NOT NULL,"
            " phone text NOT NULL, name text NOT NULL, wave integer NOT NULL, result text, card_number text,"
            " balance bigint, line integer NOT NULL) ON COMMIT DROP"
        )
        await conn.copy_records_to_table(STAGE, records=_stream(source), columns=ImportRow._fields)
        db.hops += 3
        if not await conn.fetchval(f"SELECT count(*) FROM {STAGE}"):
            return ImportCounts(new=0, updated=0, unchanged=0)
        return await db.run(conn, _merge, now_utc())


async def _stream(source: Iterable[ImportRow]) -> AsyncIterator[tuple[object, ...]]:
    """The rows as COPY records, letting the event loop send what is buffered every few thousand rows."""
    for n, r in enumerate(source, 1):
        yield (r.nik_hash, r.phone, r.name, r.wave, r.result.value if r.result else None, r.card_number, r.balance,
               r.line)
        if n % COPY_YIELD_EVERY == 0:
            await asyncio.sleep(0)


def _merge(now: datetime) -> Unit[ImportCounts]:
    yield from check_conflicts(STAGE)
    yield count(f"CREATE TEMP TABLE {PLAN} ON COMMIT DROP AS {plan_select(STAGE, SAME)}")
    counted = yield plan_counts(PLAN)
    yield from merge_known(PLAN, SAME, now)
    # New accounts, one per NIK (a new NIK may come on several rows: several waves), then their ids.
    yield count("WITH created AS (INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at,"
                " updated_at) SELECT nik_hash, max(phone), max(name), max(card_number), max(balance),"
                f" CASE WHEN max(balance) IS NULL THEN NULL ELSE ?::timestamptz END, ? FROM {PLAN}"
                " WHERE account_id IS NULL GROUP BY nik_hash ORDER BY min(seq) RETURNING id, nik_hash)"
                f" UPDATE {PLAN} p SET account_id = created.id FROM created WHERE p.nik_hash = created.nik_hash",
                (now, now))
    # A wave given twice for one account in one file: the later row wins, as a second import would.
    yield count(
        "INSERT INTO wave_results (account_id, wave, result) SELECT DISTINCT ON (account_id, wave)"
        f" account_id, wave, result FROM {PLAN} WHERE result_state <> 1 ORDER BY account_id, wave,"
        " seq DESC ON CONFLICT (account_id, wave) DO UPDATE SET result = excluded.result"
    )
    return import_counts(counted)
