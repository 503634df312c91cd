"""SQLite's import of the registry (`Accounts.import_rows`): staged by multi-row INSERTs, merged as one unit.

Rows are staged in a TEMP table, a few thousand per statement, outside the write transaction: the iterable may
validate lazily (and raise to abort: nothing is written then), and the bot's other writes are only held up for the
set-based merge at the end, ONE unit of work (one transaction, one round trip). Into an empty registry (the first
import) it inserts without a plan and builds the secondary indexes after (`_fill_empty`); otherwise new accounts,
inserted in row order, get consecutive ids (SQLite gives max(id) + 1) and need no look-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from itertools import chain, islice

from storage.core import Engine, Unit, count, now_utc, one, rows
from storage.models import ImportCounts, ImportRow
from storage.repositories.registry import check_conflicts, import_counts, merge_known, plan_counts, plan_select

STAGE = "temp.import_staging"
PLAN = "temp.import_plan"
_STAGE_TABLE = (
    f"CREATE TABLE {STAGE} (seq INTEGER PRIMARY KEY, nik_hash BLOB NOT NULL, phone TEXT NOT NULL, name TEXT NOT NULL,"
    " wave INTEGER NOT NULL, result TEXT, card_number TEXT, balance INTEGER, line INTEGER NOT NULL)"
)
_PLAN_TABLE = (
    f"CREATE TABLE {PLAN} (seq INTEGER PRIMARY KEY, nik_hash BLOB NOT NULL, phone TEXT NOT NULL,"
    " name TEXT NOT NULL, wave INTEGER NOT NULL, result TEXT, card_number TEXT, balance INTEGER,"
    " account_id INTEGER, account_same INTEGER NOT NULL, result_state INTEGER NOT NULL)"
)
_SQLITE_MAX_VARIABLES = 32_766  # SQLITE_MAX_VARIABLE_NUMBER's default since SQLite 3.32
_STAGE_ROWS = _SQLITE_MAX_VARIABLES // len(ImportRow._fields)  # rows per INSERT: one statement, one hop
_IMPORT_CACHE_KIB = -262_144  # 256 MiB page cache while merging (negative: KiB), back to what it was after


async def import_rows(db: Engine, source: Iterable[ImportRow]) -> ImportCounts:
    await db.execute(f"DROP TABLE IF EXISTS {STAGE}")
    await db.execute(_STAGE_TABLE)
    try:
        staged = await _stage(db, source)
        if not staged:
            return ImportCounts(new=0, updated=0, unchanged=0)
        previous = await db.fetchval("PRAGMA cache_size")
        await db.execute(f"PRAGMA cache_size = {_IMPORT_CACHE_KIB}")  # the merge walks big indexes at random
        try:
            return await db.unit(_merge, staged, now_utc())
        finally:
            await db.execute(f"PRAGMA cache_size = {int(previous)}")
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {STAGE}")


async def _stage(db: Engine, source: Iterable[ImportRow]) -> int:
    """Copy the rows into the staging table; the next chunk is read (validated) while the last one is written."""
    staged, remaining = 0, iter(source)
    pending: asyncio.Future[int] | None = None
    try:
        while chunk := list(islice(remaining, _STAGE_ROWS)):
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(db.execute(_stage_sql(len(chunk)), list(chain.from_iterable(chunk))))
            await asyncio.sleep(0)  # hand the statement to the database thread before reading on
            staged += len(chunk)
    finally:
        if pending is not None:
            await pending
    return staged


@lru_cache(maxsize=2)  # the full chunk and the last one
def _stage_sql(size: int) -> str:
    row = "(" + ", ".join("?" * len(ImportRow._fields)) + ")"
    return f"INSERT INTO {STAGE} ({', '.join(ImportRow._fields)}) VALUES " + ", ".join([row] * size)


def _merge(staged: int, now: datetime) -> Unit[ImportCounts]:
    yield from check_conflicts(STAGE)
    if (yield from _fill_empty(staged, now)):
        return ImportCounts(new=staged, updated=0, unchanged=0)  # no record existed before
    yield count(f"DROP TABLE IF EXISTS {PLAN}")
    yield count(_PLAN_TABLE)
    yield count(f"INSERT INTO {PLAN} {plan_select(STAGE, 'IS')} ORDER BY s.seq")
    counted = yield plan_counts(PLAN)
    yield from merge_known(PLAN, "IS", now)
    first_id = yield from _insert_new(now, counted["new_account_rows"])
    if first_id is not None:
        # Each new row made one account, in row order, with the next id: number them, no look-ups.
        yield count("INSERT INTO wave_results (account_id, wave, result)"
                    f" SELECT ? + row_number() OVER (ORDER BY seq), wave, result FROM {PLAN}"
                    " WHERE account_id IS NULL ORDER BY seq",
                    (first_id - 1,))
    yield count(
        f"INSERT INTO wave_results (account_id, wave, result) SELECT account_id, wave, result FROM {PLAN}"
        " WHERE account_id IS NOT NULL AND result_state <> 1"
        " ON CONFLICT (account_id, wave) DO UPDATE SET result = excluded.result"
    )
    yield count(f"DROP TABLE {PLAN}")
    return import_counts(counted)


_NEW_ACCOUNTS = (
    "INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at, updated_at)"
    " SELECT nik_hash, phone, name, card_number, balance, CASE WHEN balance IS NULL THEN NULL ELSE ? END, ?"
    " FROM {source} ORDER BY seq ON CONFLICT (nik_hash) DO UPDATE SET"
    " card_number = coalesce(excluded.card_number, card_number), balance = coalesce(excluded.balance, balance),"
    " balance_at = coalesce(excluded.balance_at, balance_at)"
)


def _fill_empty(staged: int, now: datetime) -> Unit[bool]:
    """The first import into an empty registry: False (nothing done) when accounts or wave results exist.

    Every row is new, so no plan is needed; and the secondary indexes of both tables are dropped before and
    built again after, by sorting (cheaper than inserting into them in file order, at random), in this same
    transaction: a reader sees the old schema or the new one, whole.
    """
    empty = yield one("SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM wave_results)")
    if not empty[0]:
        return False
    indexes = yield rows(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('accounts', 'wave_results') ORDER BY name"
    )
    for index in indexes:
        yield count(f'DROP INDEX "{index["name"]}"')
    yield count(f"INSERT INTO waves (number) SELECT DISTINCT wave FROM {STAGE} WHERE true ON CONFLICT DO NOTHING")
    # Rows of one NIK agree on phone and name (the validator sees to it); card and balance come from its lolos
    # row, the only one that has them.
    yield count(_NEW_ACCOUNTS.format(source=f"{STAGE} WHERE true"), (now, now))
    ids = yield one(
        f"SELECT (SELECT min(id) FROM accounts) AS first, (SELECT max(id) FROM accounts) AS last,"
        f" (SELECT min(seq) FROM {STAGE}) AS first_row, (SELECT max(seq) FROM {STAGE}) AS last_row"
    )
    if ids["last"] - ids["first"] + 1 == staged == ids["last_row"] - ids["first_row"] + 1:
        # Each row made one account, in row order, with the next id: number them, no look-ups.
        yield count(f"INSERT INTO wave_results (account_id, wave, result) SELECT seq + ?, wave, result FROM {STAGE}",
                    (ids["first"] - ids["first_row"],))
    else:  # a NIK on several rows (several waves): look the ids up
        yield count("INSERT INTO wave_results (account_id, wave, result)"
                    f" SELECT a.id, s.wave, s.result FROM {STAGE} s JOIN accounts a ON a.nik_hash = s.nik_hash")
    for index in indexes:
        yield count(index["sql"])
    return True


def _insert_new(now: datetime, new_rows: int) -> Unit[int | None]:
    """Insert the new accounts. Returns the first new id when the new rows made one account each, in row order
    (then they need no look-up); else their ids are filled in the plan."""
    if not new_rows:
        return None
    before = yield one("SELECT coalesce(max(id), 0) FROM accounts")
    yield count(_NEW_ACCOUNTS.format(source=f"{PLAN} WHERE account_id IS NULL"), (now, now))
    after = yield one("SELECT max(id) FROM accounts")
    if after[0] - before[0] == new_rows:  # ids are max(id) + 1 in SQLite: one per row, in order
        return int(before[0]) + 1
    # A new NIK on several rows (several waves): look the ids up.
    yield count(f"UPDATE {PLAN} SET account_id = (SELECT a.id FROM accounts a WHERE a.nik_hash = {PLAN}.nik_hash)"
                " WHERE account_id IS NULL")
    return None
