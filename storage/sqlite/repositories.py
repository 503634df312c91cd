"""The SQLite repositories: the only place, with the migrations, that holds SQL.

Each repository is a small class over the shared `Database`; `storage.Storage` groups them. Methods are
shaped after what a handler does in one step, so an update costs few round trips to the database thread.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import chain, islice
from typing import NamedTuple

from storage.models import (
    DEFAULT_CHAT_LOCALE,
    Account,
    AuditEntry,
    Chat,
    ChatSnapshot,
    Conversation,
    ImportCounts,
    LinkLock,
    Platform,
    Training,
    Wave,
    WaveResult,
    WaveStanding,
)
from storage.sqlite.database import Database, Transaction, from_db_time, now_utc, to_db_time


class Progress(StrEnum):
    """Guide steps a chat can complete; each is a timestamp column of `chats`."""

    VIDEO_WATCHED = "video_watched_at"
    PLATFORMS_COMPARED = "platforms_compared_at"
    TRAINING_CHOSEN = "training_chosen_at"
    TRAINING_BOUGHT = "training_bought_at"


def _chat(row: sqlite3.Row) -> Chat:
    return Chat(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        user_id=row["user_id"],
        locale=row["locale"],
        account_id=row["account_id"],
        opted_out=bool(row["opted_out"]),
        blocked=bool(row["blocked"]),
        video_watched_at=from_db_time(row["video_watched_at"]),
        platforms_compared_at=from_db_time(row["platforms_compared_at"]),
        training_chosen_at=from_db_time(row["training_chosen_at"]),
        training_bought_at=from_db_time(row["training_bought_at"]),
        first_seen=from_db_time(row["first_seen"]),  # type: ignore[arg-type]
        last_seen=from_db_time(row["last_seen"]),  # type: ignore[arg-type]
    )


def _account(row: sqlite3.Row, prefix: str = "") -> Account:
    return Account(
        id=row[f"{prefix}id"],
        phone=row[f"{prefix}phone"],
        name=row[f"{prefix}name"],
        card_number=row[f"{prefix}card_number"],
        balance=row[f"{prefix}balance"],
        balance_at=from_db_time(row[f"{prefix}balance_at"]),
    )


_ACCOUNT_COLUMNS = "a.id AS a_id, a.phone AS a_phone, a.name AS a_name, a.card_number AS a_card_number, " \
    "a.balance AS a_balance, a.balance_at AS a_balance_at"
# The columns of `Account`, in its field order, for one json_array() in a subquery.
_ACCOUNT_ARRAY = "a.id, a.phone, a.name, a.card_number, a.balance, a.balance_at"


_SNAPSHOT = (
    "INSERT INTO chats (channel, external_id, user_id, locale, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (channel, external_id) DO UPDATE SET last_seen = excluded.last_seen,"
    " user_id = coalesce(excluded.user_id, chats.user_id),"
    " blocked = 0"  # the user writes again: they can receive messages again (outbox 403 set it)
    " RETURNING *,"
    " (SELECT json_array(cv.step, cv.payload) FROM conversations cv WHERE cv.chat_id = chats.id) AS cv,"
    f" (SELECT json_array({_ACCOUNT_ARRAY}) FROM accounts a WHERE a.id = chats.account_id) AS account,"
    " (SELECT g.role FROM granted_roles g WHERE g.channel = chats.channel AND g.user_id = ?) AS granted_role,"
    " (SELECT json_array(la.failures, la.locked_until) FROM link_attempts la WHERE la.key = 'chat:' || chats.id)"
    " AS attempts,"
    " (SELECT data_version FROM pragma_data_version) AS data_version"  # see Database.data_version
)


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(
        self, channel: str, external_id: str, user_id: str | None, locale: str = DEFAULT_CHAT_LOCALE
    ) -> ChatSnapshot:
        """Register the chat (or touch its last_seen) and read it with its conversation and account: one round trip
        (the upsert RETURNs the chat with its conversation, account, granted role and failed verifications from
        subqueries)."""
        now = to_db_time(now_utc())
        rows = await self._db.fetchall(_SNAPSHOT, (channel, external_id, user_id, locale, now, now, user_id))
        row = rows[0]
        self._db.data_version = row["data_version"]
        conversation = Conversation(*json.loads(row["cv"])) if row["cv"] else None
        account = Account(*json.loads(row["account"])) if row["account"] else None
        if account is not None and account.balance_at is not None:
            account = replace(account, balance_at=from_db_time(account.balance_at))  # type: ignore[arg-type]
        attempts = None
        if row["attempts"]:
            failures, locked_until = json.loads(row["attempts"])
            attempts = LinkLock(failures, from_db_time(locked_until))
        return ChatSnapshot(_chat(row), conversation, account, row["granted_role"], attempts)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._db.fetchone("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    async def find(self, channel: str, external_id: str) -> Chat | None:
        row = await self._db.fetchone(
            "SELECT * FROM chats WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _chat(row) if row else None

    async def for_account(self, account_id: int) -> list[Chat]:
        rows = await self._db.fetchall("SELECT * FROM chats WHERE account_id = ? ORDER BY channel", (account_id,))
        return [_chat(r) for r in rows]

    async def set_conversation(self, chat_id: int, step: str, payload: str) -> None:
        await self._db.execute(
            "INSERT INTO conversations (chat_id, step, payload, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET step = excluded.step, payload = excluded.payload,"
            " updated_at = excluded.updated_at",
            (chat_id, step, payload, to_db_time(now_utc())),
        )

    async def clear_conversation(self, chat_id: int) -> None:
        await self._db.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))

    async def set_locale(self, chat_id: int, locale: str) -> None:
        await self._db.execute("UPDATE chats SET locale = ? WHERE id = ?", (locale, chat_id))

    async def set_opted_out(self, chat_id: int, opted_out: bool) -> None:
        await self._db.execute("UPDATE chats SET opted_out = ? WHERE id = ?", (int(opted_out), chat_id))

    async def mark_progress(self, chat_id: int, step: Progress) -> None:
        """Record the first time a guide step was done (later repeats keep the first time)."""
        column = Progress(step).value  # an enum value, never user input
        await self._db.execute(
            f"UPDATE chats SET {column} = coalesce({column}, ?) WHERE id = ?", (to_db_time(now_utc()), chat_id)
        )

    async def link(self, chat_id: int, account_id: int, actor: str) -> Chat | None:
        """Link the chat to the account; return the chat of the same channel that held the link before, if any.
        One transaction in one round trip (`Database.atomic`)."""
        previous = await self._db.atomic(_link, chat_id, account_id, actor, to_db_time(now_utc()))
        return _chat(previous) if previous is not None else None

    async def unlink(self, chat_id: int, actor: str, role: str = "applicant", reason: str | None = None) -> int | None:
        """Unlink the chat; return the account id it was linked to (None if it was not linked)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT account_id FROM chats WHERE id = ?", (chat_id,))
            if row is None or row["account_id"] is None:
                return None
            await tx.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (chat_id,))
            await tx.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
            await _audit(tx, actor, role, "unlink", f"account:{row['account_id']}", reason or f"chat:{chat_id}")
            return int(row["account_id"])


def _link(connection: sqlite3.Connection, chat_id: int, account_id: int, actor: str, now: str) -> sqlite3.Row | None:
    """ChatRepository.link's statements, on the database thread inside one transaction."""
    previous: sqlite3.Row | None = connection.execute(
        "SELECT p.* FROM chats p JOIN chats me ON me.id = ? AND p.channel = me.channel"
        " WHERE p.account_id = ? AND p.id != me.id",
        (chat_id, account_id),
    ).fetchone()
    if previous is not None:
        connection.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (previous["id"],))
        connection.execute(_AUDIT_INSERT, (now, actor, "applicant", "link_moved", f"chat:{previous['id']}",
                                           f"to chat:{chat_id}"))
    connection.execute("UPDATE chats SET account_id = ?, linked_at = ? WHERE id = ?", (account_id, now, chat_id))
    connection.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
    connection.execute(_AUDIT_INSERT, (now, actor, "applicant", "link", f"account:{account_id}", f"chat:{chat_id}"))
    return previous


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._import_lock = asyncio.Lock()  # one import at a time: they share the staging table

    async def by_phone(self, phone: str) -> list[Account]:
        rows = await self._db.fetchall("SELECT * FROM accounts WHERE phone = ? ORDER BY id", (phone,))
        return [_account(r) for r in rows]

    async def by_phone_and_nik(self, phone: str, nik_hash: str) -> Account | None:
        row = await self._db.fetchone(
            "SELECT * FROM accounts WHERE phone = ? AND nik_hash = ?", (phone, nik_hash)
        )
        return _account(row) if row else None

    async def get(self, account_id: int) -> Account | None:
        row = await self._db.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return _account(row) if row else None

    async def standings(self, account_id: int) -> list[WaveStanding]:
        rows = await self._db.fetchall(
            "SELECT w.number, w.announce_at, w.published_at, r.result FROM wave_results r"
            " JOIN waves w ON w.number = r.wave WHERE r.account_id = ? ORDER BY w.number DESC",
            (account_id,),
        )
        return [
            WaveStanding(
                Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])),
                WaveResult(r["result"]) if r["result"] else None,
            )
            for r in rows
        ]

    async def import_rows(self, rows: Iterable[ImportRow]) -> ImportCounts:
        """Upsert accounts (by NIK hash) and their wave results: all or nothing, counted per row.

        A row is *new* when its account had no record for that wave, *unchanged* when the account's phone, name
        (and card/balance, when the row has them) and the wave's result are already as in the row, *updated*
        otherwise. Rows are staged in a TEMP table, a few thousand per statement, outside the write transaction:
        the iterable may validate lazily (and raise to abort: nothing is written then), and the bot's other
        writes are only held up for the set-based merge at the end, which runs in ONE transaction; into an empty
        registry (the first import) it inserts without a plan and builds the secondary indexes after
        (`_fill_empty`).
        Raises `ImportConflict` (nothing written) when a card number belongs to another account already.
        """
        async with self._import_lock:
            await self._db.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            await self._db.execute(_STAGE_TABLE)
            try:
                staged = await self._stage(rows)
                if not staged:
                    return ImportCounts(new=0, updated=0, unchanged=0)
                return await self._merge(staged)
            finally:
                await self._db.execute(f"DROP TABLE IF EXISTS {_STAGE}")

    async def _stage(self, rows: Iterable[ImportRow]) -> int:
        """Copy the rows into the staging table; the next chunk is read (validated) while the last one is written."""
        staged = 0
        pending: asyncio.Future[int] | None = None
        try:
            for chunk in _chunks(rows, _STAGE_ROWS):
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(
                    self._db.execute(_stage_sql(len(chunk)), list(chain.from_iterable(chunk)))
                )
                await asyncio.sleep(0)  # hand the statement to the database thread before reading on
                staged += len(chunk)
        finally:
            if pending is not None:
                await pending
        return staged

    async def _merge(self, staged: int) -> ImportCounts:
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            previous = await tx.fetchone("PRAGMA cache_size")
            assert previous is not None
            await tx.execute(f"PRAGMA cache_size = {_IMPORT_CACHE_KIB}")  # the merge walks big indexes at random
            try:
                clashes = await tx.fetchall(
                    f"SELECT s.line, count(*) OVER () AS total FROM {_STAGE} s"
                    " JOIN accounts a ON a.card_number = s.card_number WHERE a.nik_hash <> s.nik_hash"
                    " ORDER BY s.line LIMIT ?",
                    (ImportConflict.LIMIT,),
                )
                if clashes:
                    raise ImportConflict([r["line"] for r in clashes], clashes[0]["total"])
                if await self._fill_empty(tx, now, staged):
                    return ImportCounts(new=staged, updated=0, unchanged=0)  # no record existed before
                counts = await self._plan(tx)
                await tx.execute(f"INSERT OR IGNORE INTO waves (number) SELECT DISTINCT wave FROM {_PLAN}")
                first_id = await self._upsert_accounts(tx, now, counts["new_account_rows"])
                if first_id is not None:
                    # Each new row made one account, in row order, with the next id: number them, no look-ups.
                    await tx.execute(
                        "INSERT INTO wave_results (account_id, wave, result)"
                        f" SELECT ? + row_number() OVER (ORDER BY seq), wave, result FROM {_PLAN}"
                        " WHERE account_id IS NULL ORDER BY seq",
                        (first_id - 1,),
                    )
                await tx.execute(
                    f"INSERT INTO wave_results (account_id, wave, result) SELECT account_id, wave, result FROM {_PLAN}"
                    " WHERE account_id IS NOT NULL AND result_state <> 1"
                    " ON CONFLICT (account_id, wave) DO UPDATE SET result = excluded.result"
                )
            finally:
                await tx.execute(f"PRAGMA cache_size = {int(previous[0])}")
                await tx.execute(f"DROP TABLE IF EXISTS {_PLAN}")
        new, unchanged = int(counts["new"]), int(counts["unchanged"])
        return ImportCounts(new=new, updated=int(counts["total"]) - new - unchanged, unchanged=unchanged)

    @staticmethod
    async def _fill_empty(tx: Transaction, now: str | None, staged: int) -> bool:
        """The first import into an empty registry: False (nothing done) when accounts or wave results exist.

        Every row is new, so no plan is needed; and the secondary indexes of both tables are dropped before and
        built again after, by sorting (cheaper than inserting into them in file order, at random), in this same
        transaction: a reader sees the old schema or the new one, whole.
        """
        empty = await tx.fetchone(
            "SELECT NOT EXISTS (SELECT 1 FROM accounts) AND NOT EXISTS (SELECT 1 FROM wave_results) AS empty"
        )
        assert empty is not None
        if not empty["empty"]:
            return False
        indexes = await tx.fetchall(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('accounts', 'wave_results') ORDER BY name"
        )
        for index in indexes:
            await tx.execute(f'DROP INDEX "{index["name"]}"')
        await tx.execute(f"INSERT OR IGNORE INTO waves (number) SELECT DISTINCT wave FROM {_STAGE}")
        # Rows of one NIK agree on phone and name (the validator sees to it); card and balance come from its lolos
        # row, the only one that has them.
        await tx.execute(
            "INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at, updated_at)"
            " SELECT nik_hash, phone, name, card_number, balance,"
            f" CASE WHEN balance IS NULL THEN NULL ELSE :now END, :now FROM {_STAGE} WHERE true ORDER BY rowid"
            " ON CONFLICT (nik_hash) DO UPDATE SET card_number = coalesce(excluded.card_number, card_number),"
            " balance = coalesce(excluded.balance, balance), balance_at = coalesce(excluded.balance_at, balance_at)",
            {"now": now},
        )
        ids = await tx.fetchone(
            f"SELECT (SELECT min(id) FROM accounts) AS first, (SELECT max(id) FROM accounts) AS last,"
            f" (SELECT min(rowid) FROM {_STAGE}) AS first_row, (SELECT max(rowid) FROM {_STAGE}) AS last_row"
        )
        assert ids is not None
        if ids["last"] - ids["first"] + 1 == staged == ids["last_row"] - ids["first_row"] + 1:
            # Each row made one account, in row order, with the next id: number them, no look-ups.
            await tx.execute(
                f"INSERT INTO wave_results (account_id, wave, result) SELECT rowid + ?, wave, result FROM {_STAGE}",
                (ids["first"] - ids["first_row"],),
            )
        else:  # a NIK on several rows (several waves): look the ids up
            await tx.execute(
                "INSERT INTO wave_results (account_id, wave, result)"
                f" SELECT a.id, s.wave, s.result FROM {_STAGE} s JOIN accounts a ON a.nik_hash = s.nik_hash"
            )
        for index in indexes:
            await tx.execute(index["sql"])
        return True

    @staticmethod
    async def _plan(tx: Transaction) -> sqlite3.Row:
        """One pass over the staged rows against the database: each row's account (if any) and what changes."""
        await tx.execute(f"DROP TABLE IF EXISTS {_PLAN}")
        await tx.execute(
            f"CREATE TABLE {_PLAN} (seq INTEGER PRIMARY KEY, nik_hash TEXT NOT NULL, phone TEXT NOT NULL,"
            " name TEXT NOT NULL, wave INTEGER NOT NULL, result TEXT, card_number TEXT, balance INTEGER,"
            " account_id INTEGER,"  # NULL: a new account
            " account_same INTEGER NOT NULL,"  # the account already has this row's phone, name, card, balance
            " result_state INTEGER NOT NULL)"  # 0: no record for the wave yet, 1: same result, 2: other result
        )
        await tx.execute(
            f"INSERT INTO {_PLAN} SELECT s.rowid, s.nik_hash, s.phone, s.name, s.wave, s.result, s.card_number,"
            " s.balance, a.id, a.id IS NOT NULL AND a.phone = s.phone AND a.name = s.name"
            "  AND (s.card_number IS NULL OR a.card_number IS s.card_number)"
            "  AND (s.balance IS NULL OR a.balance IS s.balance),"
            " CASE WHEN r.account_id IS NULL THEN 0 WHEN r.result IS s.result THEN 1 ELSE 2 END"
            f" FROM {_STAGE} s LEFT JOIN accounts a ON a.nik_hash = s.nik_hash"
            " LEFT JOIN wave_results r ON r.account_id = a.id AND r.wave = s.wave ORDER BY s.rowid"
        )
        counts = await tx.fetchone(
            "SELECT count(*) AS total, coalesce(sum(result_state = 0), 0) AS new,"
            " coalesce(sum(account_same AND result_state = 1), 0) AS unchanged,"
            f" coalesce(sum(account_id IS NULL), 0) AS new_account_rows FROM {_PLAN}"
        )
        assert counts is not None
        return counts

    @staticmethod
    async def _upsert_accounts(tx: Transaction, now: str | None, new_rows: int) -> int | None:
        """Update the accounts that change, insert the new ones. Returns the first new id when the new rows made
        one account each, in row order (then they need no look-up); else their ids are filled in the plan."""
        # Rows of one account agree on phone and name (the validator sees to it); card and balance come from the
        # row that has them (its lolos row) and are kept when no row has them.
        await tx.execute(
            "UPDATE accounts SET phone = c.phone, name = c.name,"
            " card_number = coalesce(c.card_number, accounts.card_number),"
            " balance = coalesce(c.balance, accounts.balance), balance_at = CASE WHEN c.balance IS NULL"
            "  OR c.balance IS accounts.balance THEN accounts.balance_at ELSE :now END, updated_at = :now"
            " FROM (SELECT account_id, max(phone) AS phone, max(name) AS name, max(card_number) AS card_number,"
            f"  max(balance) AS balance FROM {_PLAN} WHERE account_id IS NOT NULL AND NOT account_same"
            "  GROUP BY account_id) AS c WHERE accounts.id = c.account_id",
            {"now": now},
        )
        if not new_rows:
            return None
        before = await tx.fetchone("SELECT coalesce(max(id), 0) AS id FROM accounts")
        assert before is not None
        await tx.execute(
            "INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at, updated_at)"
            " SELECT nik_hash, phone, name, card_number, balance,"
            f" CASE WHEN balance IS NULL THEN NULL ELSE :now END, :now FROM {_PLAN} WHERE account_id IS NULL"
            " ORDER BY seq ON CONFLICT (nik_hash) DO UPDATE SET card_number = coalesce(excluded.card_number,"
            " card_number), balance = coalesce(excluded.balance, balance),"
            " balance_at = coalesce(excluded.balance_at, balance_at)",
            {"now": now},
        )
        after = await tx.fetchone("SELECT max(id) AS id FROM accounts")
        assert after is not None
        if after["id"] - before["id"] == new_rows:  # ids are max(id) + 1 in SQLite: one per row, in order
            return int(before["id"]) + 1
        # A new NIK on several rows (several waves): look the ids up.
        await tx.execute(
            f"UPDATE {_PLAN} SET account_id = (SELECT a.id FROM accounts a WHERE a.nik_hash = {_PLAN}.nik_hash)"
            " WHERE account_id IS NULL"
        )
        return None


class ImportRow(NamedTuple):
    """One validated CSV row, NIK already hashed, phone already E.164. A tuple in the staging table's column order,
    so a chunk of rows binds to one INSERT without copying."""

    nik_hash: str
    phone: str
    name: str
    wave: int
    result: WaveResult | None
    card_number: str | None
    balance: int | None
    line: int = 0  # line in the source file, named in conflict messages


class ImportConflict(Exception):
    """Rows whose card number belongs to another account in the database already; nothing was imported."""

    LIMIT = 50  # lines named at most; `total` counts them all

    def __init__(self, lines: list[int], total: int) -> None:
        super().__init__(f"card number of another account on {total} row(s)")
        self.lines = lines
        self.total = total


# A row's result binds as its text: without an adapter, sqlite3 first looks for one (and for `__conform__`) on
# every str subclass it binds, which costs a third of staging a million rows.
sqlite3.register_adapter(WaveResult, str)
_STAGE = "temp.import_staging"
_PLAN = "temp.import_plan"
_STAGE_TABLE = (
    f"CREATE TABLE {_STAGE} (nik_hash TEXT NOT NULL, phone TEXT NOT NULL, name TEXT NOT NULL, wave INTEGER NOT NULL,"
    " result TEXT, card_number TEXT, balance INTEGER, line INTEGER NOT NULL)"
)
_SQLITE_MAX_VARIABLES = 32_766  # SQLITE_MAX_VARIABLE_NUMBER's default since SQLite 3.32
_STAGE_ROWS = _SQLITE_MAX_VARIABLES // len(ImportRow._fields)  # rows per INSERT: one statement, one hop
_IMPORT_CACHE_KIB = -262_144  # 256 MiB page cache while merging (negative: KiB), back to what it was after


@lru_cache(maxsize=2)  # the full chunk and the last one
def _stage_sql(count: int) -> str:
    row = "(" + ", ".join("?" * len(ImportRow._fields)) + ")"
    return f"INSERT INTO {_STAGE} VALUES " + ", ".join([row] * count)


def _chunks(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class WaveRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Wave]:
        rows = await self._db.fetchall("SELECT * FROM waves ORDER BY number")
        return [Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])) for r in rows]

    async def get(self, number: int) -> Wave | None:
        r = await self._db.fetchone("SELECT * FROM waves WHERE number = ?", (number,))
        return Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])) if r else None

    async def set_announce_at(self, number: int, when: datetime) -> None:
        await self._db.execute(
            "INSERT INTO waves (number, announce_at) VALUES (?, ?)"
            " ON CONFLICT (number) DO UPDATE SET announce_at = excluded.announce_at",
            (number, to_db_time(when)),
        )

    async def publish(self, number: int, when: datetime | None = None) -> bool:
        """Mark the wave published; False if it already was (publishing twice changes nothing)."""
        changed = await self._db.execute(
            "UPDATE waves SET published_at = ? WHERE number = ? AND published_at IS NULL",
            (to_db_time(when or now_utc()), number),
        )
        return changed > 0


class LinkAttemptRepository:
    """Failed verifications per key ('chat:<id>', 'phone:<E.164>')."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def state(self, keys: Sequence[str], now: datetime) -> LinkLock:
        if not keys:
            return LinkLock(0, None)
        marks = ",".join("?" * len(keys))
        rows = await self._db.fetchall(
            f"SELECT failures, locked_until FROM link_attempts WHERE key IN ({marks})", tuple(keys)
        )
        return _combine(rows, now)

    async def record_failure(
        self, keys: Sequence[str], now: datetime, max_failures: int, lock_for: timedelta
    ) -> LinkLock:
        """Count one failure on every key; a key reaching `max_failures` is locked for `lock_for`."""
        until = to_db_time(now + lock_for)
        stamp = to_db_time(now)
        async with self._db.transaction() as tx:
            for key in keys:
                # A lock that has expired starts the count again.
                await tx.execute(
                    "INSERT INTO link_attempts (key, failures, locked_until, last_failure_at) VALUES (?, 1, NULL, ?)"
                    " ON CONFLICT (key) DO UPDATE SET"
                    " failures = CASE WHEN locked_until IS NOT NULL AND locked_until <= ? THEN 1"
                    "  ELSE failures + 1 END,"
                    " locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= ? THEN NULL"
                    "  ELSE locked_until END,"
                    " last_failure_at = excluded.last_failure_at",
                    (key, stamp, stamp, stamp),
                )
                await tx.execute(
                    "UPDATE link_attempts SET locked_until = ? WHERE key = ? AND failures >= ? AND"
                    " locked_until IS NULL",
                    (until, key, max_failures),
                )
            marks = ",".join("?" * len(keys))
            rows = await tx.fetchall(
                f"SELECT failures, locked_until FROM link_attempts WHERE key IN ({marks})", tuple(keys)
            )
        return _combine(rows, now)

    async def clear(self, keys: Sequence[str]) -> None:
        marks = ",".join("?" * len(keys))
        await self._db.execute(f"DELETE FROM link_attempts WHERE key IN ({marks})", tuple(keys))


def _combine(rows: Sequence[sqlite3.Row], now: datetime) -> LinkLock:
    failures = 0
    locked_until: datetime | None = None
    for r in rows:
        until = from_db_time(r["locked_until"])
        if until is not None and until <= now:
            continue  # expired lock: counts for nothing
        failures = max(failures, r["failures"])
        if until is not None and (locked_until is None or until > locked_until):
            locked_until = until
    return LinkLock(failures, locked_until)


class _CatalogueSummary(NamedTuple):
    data_version: int
    platforms: list[Platform]
    stats: dict[str, tuple[int, int, int]]


def _read_catalogue(connection: sqlite3.Connection) -> _CatalogueSummary:
    """The platforms and the trainings' statistics, with the data_version they were read at (database thread)."""
    (version,) = connection.execute("PRAGMA data_version").fetchone()
    platforms = []
    for r in connection.execute("SELECT * FROM platforms ORDER BY position"):
        data = json.loads(r["data"])
        platforms.append(
            Platform(r["id"], r["name"], r["position"], data["url"], tuple(data["domains"]), data["texts"])
        )
    stats = {r["platform_id"]: (r["n"], r["low"], r["high"]) for r in connection.execute(
        "SELECT platform_id, count(*) AS n, min(price) AS low, max(price) AS high FROM trainings GROUP BY platform_id"
    )}
    return _CatalogueSummary(int(version), platforms, stats)


class CatalogueRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # The platforms and the statistics change only when the catalogue is replaced: kept in this process until
        # `replace` here, or a commit by another process (e.g. `python -m bot import-catalogue`), which changes the
        # data_version that every chat snapshot reads (Database.data_version).
        self._summary: _CatalogueSummary | None = None

    async def _current(self) -> _CatalogueSummary:
        summary = self._summary
        if summary is None or summary.data_version != self._db.data_version:
            summary = self._summary = await self._db.run(_read_catalogue)
            self._db.data_version = summary.data_version
        return summary

    async def platforms(self) -> list[Platform]:
        return list((await self._current()).platforms)

    async def replace(self, platforms: Sequence[Platform], trainings: Sequence[Training]) -> None:
        self._summary = None
        try:
            await self._replace(platforms, trainings)
        finally:
            self._summary = None  # a read that overlapped the replacement may have cached the old catalogue

    async def _replace(self, platforms: Sequence[Platform], trainings: Sequence[Training]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM trainings")
            await tx.execute("DELETE FROM platforms")
            await tx.executemany(
                "INSERT INTO platforms (id, name, position, data) VALUES (?, ?, ?, ?)",
                [
                    (p.id, p.name, p.position, json.dumps({"url": p.url, "domains": p.domains, "texts": p.texts}))
                    for p in platforms
                ],
            )
            names = {p.id: p.name for p in platforms}
            await tx.executemany(
                "INSERT INTO trainings (id, platform_id, title, category, price, hours, url, search_text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t.id, t.platform_id, t.title, t.category, t.price, t.hours, t.url,
                     f"{t.title} {t.category} {names.get(t.platform_id, '')}".lower())
                    for t in trainings
                ],
            )

    async def count_trainings(self) -> int:
        row = await self._db.fetchone("SELECT count(*) AS n FROM trainings")
        return int(row["n"]) if row else 0

    async def search_trainings(
        self, words: Sequence[str], max_price: int | None, offset: int, limit: int,
        *, category: str | None = None, platform_id: str | None = None,
    ) -> tuple[list[Training], int]:
        """Trainings whose text holds every word (and of the category / platform, if given), cheapest first,
        within the budget; and the total count."""
        where = ["1 = 1"]
        params: list[object] = []
        for word in words:
            where.append("instr(search_text, ?) > 0")
            params.append(word.lower())
        if max_price is not None:
            where.append("price <= ?")
            params.append(max_price)
        if category is not None:
            where.append("category = ?")
            params.append(category)
        if platform_id is not None:
            where.append("platform_id = ?")
            params.append(platform_id)
        clause = " AND ".join(where)
        rows = await self._db.fetchall(
            f"SELECT *, count(*) OVER () AS total FROM trainings WHERE {clause}"
            " ORDER BY price, title LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        if not rows and offset:
            counted = await self._db.fetchone(f"SELECT count(*) AS n FROM trainings WHERE {clause}", tuple(params))
            total = counted["n"] if counted else 0
        return [
            Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"])
            for r in rows
        ], total

    async def training(self, training_id: str) -> Training | None:
        r = await self._db.fetchone("SELECT * FROM trainings WHERE id = ?", (training_id,))
        return Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"]) \
            if r else None

    async def categories(self) -> list[str]:
        rows = await self._db.fetchall("SELECT DISTINCT category FROM trainings ORDER BY category")
        return [r["category"] for r in rows]

    async def training_stats(self) -> dict[str, tuple[int, int, int]]:
        """Per platform id: how many trainings, the lowest and the highest price."""
        return dict((await self._current()).stats)


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (to_db_time(now_utc()), actor, role, action, subject, detail),
        )

    async def for_subject(self, subject: str, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE subject = ? ORDER BY id DESC LIMIT ?", (subject, limit)
        )
        return [_audit_entry(r) for r in rows]

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return [_audit_entry(r) for r in rows]


def _audit_entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        r["id"], from_db_time(r["at"]), r["actor"], r["role"], r["action"], r["subject"], r["detail"]  # type: ignore[arg-type]
    )


_AUDIT_INSERT = "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)"


async def _audit(tx: Transaction, actor: str, role: str, action: str, subject: str, detail: str | None) -> None:
    await tx.execute(_AUDIT_INSERT, (to_db_time(now_utc()), actor, role, action, subject, detail))
