"""One aiosqlite connection in WAL mode, numbered migrations, and atomic units of work.

aiosqlite runs every statement on one worker thread, in the order they were handed to it, so a statement of
another chat handed over while a transaction is open would run inside that transaction. A `transaction()` therefore
holds a lock from BEGIN to COMMIT, and single statements wait while one is open; otherwise single statements go to
the worker thread at once, so that the statements of concurrent chats queue there back to back instead of taking
turns through the event loop (each already runs alone, as its own autocommit transaction). Each `await` is a hop
to the worker thread and back (about 0.1 ms), so repositories batch their reads; `hops` counts them for the
benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "storage.migrations.sqlite"
BUSY_TIMEOUT_MS = 5_000


class StorageError(Exception):
    """The database could not do what was asked (locked, read-only, full disk); safe to show as 'try again'."""


@contextmanager
def _unavailable() -> Iterator[None]:
    """SQLite's 'cannot do it now' errors -> StorageError: database is locked (busy_timeout passed), attempt to
    write a readonly database, database or disk is full, disk I/O error, malformed file. Constraint violations
    and SQL mistakes (IntegrityError, ProgrammingError) are bugs and stay what they are."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StorageError(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:
            raise
        raise StorageError(str(exc)) from exc


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give a time zone")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _read_only_hint(path: Path) -> str:
    """Why a database cannot be prepared, when the reason is that it cannot be written."""
    if str(path) == ":memory:":
        return ""
    for target in (path, path.parent):
        if target.exists() and not os.access(target, os.W_OK):
            return f" ({target} is read-only: the bot needs to write its database, its -wal and -shm files)"
    return ""


class Transaction:
    """Statements inside one BEGIN IMMEDIATE ... COMMIT; only valid inside `Database.transaction()`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._db.hops += 1
        with _unavailable():
            cursor = await self._db.connection.execute(sql, params)
        return cursor.rowcount

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self._db.hops += 1
        with _unavailable():
            return list(await self._db.connection.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self._db.hops += 1
        with _unavailable():
            await self._db.connection.executemany(sql, params)


class Database:
    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self.hops = 0
        self._lock = asyncio.Lock()  # one transaction at a time
        self._no_transaction = asyncio.Event()  # set while no transaction is open: single statements may go
        self._no_transaction.set()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        db = cls(connection, path)
        try:
            await connection.executescript(
                f"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                f" PRAGMA busy_timeout={BUSY_TIMEOUT_MS};"
            )
            await db._migrate()
        except sqlite3.Error as exc:
            await connection.close()
            raise StorageError(f"cannot prepare database {path}: {exc}{_read_only_hint(path)}") from exc
        return db

    async def close(self) -> None:
        await self.connection.close()

    async def _migrate(self) -> None:
        (version,) = (await self.connection.execute_fetchall("PRAGMA user_version"))[0]
        scripts = sorted(
            (entry.name, entry)
            for entry in resources.files(MIGRATIONS_PACKAGE).iterdir()
            if entry.name.endswith(".sql")
        )
        for name, entry in scripts:
            number = int(name.split("_", 1)[0])
            if number <= version:
                continue
            log.info("applying migration %s", name)
            sql = entry.read_text(encoding="utf-8")
            # executescript commits first; the script and the version bump run in one transaction.
            await self.connection.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            # Statements handed over before this point run before the BEGIN; later ones wait for the COMMIT.
            self._no_transaction.clear()
            try:
                self.hops += 1
                with _unavailable():
                    await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self)
                    self.hops += 1
                    with _unavailable():
                        await self.connection.commit()
                except BaseException:
                    if self.connection.in_transaction:
                        with suppress(sqlite3.Error):  # the error that brought us here is the one to report
                            await self.connection.rollback()
                    raise
            finally:
                self._no_transaction.set()

    async def _outside_transactions(self) -> None:
        """Return when no transaction is open; the caller hands its statement over before its next await."""
        while not self._no_transaction.is_set():
            await self._no_transaction.wait()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        await self._outside_transactions()
        self.hops += 1
        with _unavailable():
            cursor = await self.connection.execute(sql, params)
        return cursor.rowcount

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        await self._outside_transactions()
        self.hops += 1
        with _unavailable():
            return list(await self.connection.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None
