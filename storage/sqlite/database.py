"""One aiosqlite connection in WAL mode, numbered migrations, and atomic units of work.

aiosqlite runs every statement on one worker thread, in the order they were handed to it, so a statement of
another chat handed over while a transaction is open would run inside that transaction. A `transaction()` therefore
holds a lock from BEGIN to COMMIT, and single statements wait while one is open; otherwise single statements go to
the worker thread without taking turns through the event loop. They go in batches: while one batch runs on the
thread, the statements of other chats collect and go together when it returns, so the two threads wake each other
once per batch, not once per statement, and a batch is one transaction (one commit) with each statement in a
savepoint of its own, so a failing statement undoes only itself (see `_run_batch`). `atomic()` runs a whole unit of
work as one job on the thread (no lock held across awaits). Each `await` is still a hop to the worker thread and
back, so repositories batch their reads; `hops` counts them for the benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")
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
        # SQLite's PRAGMA data_version as last read (every chat snapshot reads it): it changes when another
        # connection (another process) commits. Per-process caches of what rarely changes compare it.
        self.data_version: int | None = None
        self._lock = asyncio.Lock()  # one transaction at a time
        self._no_transaction = asyncio.Event()  # set while no transaction is open: single statements may go
        self._no_transaction.set()
        # Single statements (`run`) go to the thread in batches: while one batch runs there, the next collects
        # here and is handed over when it returns. One thread wake-up and one event-loop wake-up per batch instead
        # of per statement (each wake-up is a system call and a GIL hand-over between the two threads).
        self._waiting: list[_Job] = []
        self._batch_running = False
        self.batches = 0  # batches handed to the thread (benchmarks: statements per batch)

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
        self._hand_over()
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
            self._hand_over()  # a batch still collecting goes ahead of the BEGIN
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
        return await self.run(_rowcount, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self.run(_fetchall, sql, params)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(connection, *args)` on the database thread: one round trip, however many statements it runs.
        It runs in a batch with other chats' statements (see `_run_batch`); what it writes is all or nothing."""
        if not self._no_transaction.is_set():
            await self._outside_transactions()
        self.hops += 1
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Job(future, work, args))
        if not self._batch_running:
            self._hand_over()
        try:
            return await future
        except sqlite3.OperationalError as exc:  # as _unavailable(), without a context manager per statement
            raise StorageError(str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:
                raise
            raise StorageError(str(exc)) from exc

    def _hand_over(self) -> None:
        """Queue the statements collected so far for the database thread, as one job (see `_waiting`).

        aiosqlite has no public call for running a function on its thread; this does what its `_execute` does
        (put the function and a future on the thread's queue), without awaiting: it is called from callbacks."""
        if not self._waiting:
            return
        jobs, self._waiting = self._waiting, []
        connection = self.connection
        if not connection._running or connection._connection is None:  # closed: as aiosqlite's own calls fail
            for job in jobs:
                job.future.set_exception(ValueError("Connection closed"))
            return
        self.batches += 1
        done = asyncio.get_running_loop().create_future()
        done.add_done_callback(partial(self._batch_done, jobs))
        self._batch_running = True
        connection._tx.put_nowait((done, partial(_run_batch, connection, jobs)))

    def _batch_done(self, jobs: list[_Job], done: asyncio.Future[list[tuple[bool, Any]]]) -> None:
        self._batch_running = False
        if done.cancelled() or done.exception() is not None:  # the connection went away under the batch
            error = done.exception() if not done.cancelled() else None
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error or StorageError("database connection closed"))
        else:
            for job, (ok, value) in zip(jobs, done.result(), strict=True):
                if job.future.done():  # its caller was cancelled
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
        self._hand_over()

    async def atomic(self, work: Callable[..., T], *args: Any) -> T:
        """`work(connection, *args)` as one transaction, all on the database thread in one round trip: nothing else
        runs on the connection meanwhile (the thread runs one job at a time), so unlike `transaction()` it holds no
        lock across awaits. `work` is plain sqlite3 code: no awaits, nothing slow."""
        return await self.run(_atomically, work, args)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class _Job(NamedTuple):
    future: asyncio.Future[Any]
    work: Callable[..., Any]
    args: tuple[Any, ...]


def _run_batch(connection: aiosqlite.Connection, jobs: list[_Job]) -> list[tuple[bool, Any]]:
    """On the database thread: each job in turn, (True, its result) or (False, its exception).

    Several jobs share one transaction, so the batch costs one commit (one write to the WAL) instead of one per
    statement. A job that fails leaves nothing behind (SQLite undoes a failed statement; a job of several statements
    runs in a savepoint) and the others go on. An error that ends the transaction (disk full, I/O error) or a failed
    BEGIN or COMMIT fails every job of the batch: none of their writes is in the database."""
    sqlite = connection._conn  # the sqlite3 connection itself
    if len(jobs) == 1:
        try:
            return [(True, jobs[0].work(sqlite, *jobs[0].args))]
        except Exception as exc:
            return [(False, exc)]
    try:
        # A batch of reads alone must not wait for the write lock that another process (an import, the sender)
        # may hold: in WAL, readers never wait. Any batch that may write takes the write lock at once, since
        # upgrading a read transaction later can fail at once with SQLITE_BUSY instead of waiting.
        sqlite.execute("BEGIN" if all(_is_read(job) for job in jobs) else "BEGIN IMMEDIATE")
    except Exception as exc:  # e.g. another process holds the write lock past busy_timeout
        return [(False, exc)] * len(jobs)
    results: list[tuple[bool, Any]] = []
    try:
        for job in jobs:
            # A single statement that fails is undone by SQLite itself (the transaction stays); a job of several
            # statements gets a savepoint, to be undone as a whole.
            savepoint = job.work not in _SINGLE_STATEMENTS
            if savepoint:
                sqlite.execute("SAVEPOINT job")
            try:
                value = job.work(sqlite, *job.args)
            except Exception as exc:
                if not sqlite.in_transaction:  # SQLite rolled the whole transaction back
                    return [(False, exc)] * len(jobs)
                if savepoint:
                    sqlite.execute("ROLLBACK TO job")
                    sqlite.execute("RELEASE job")
                results.append((False, exc))
            else:
                if savepoint:
                    sqlite.execute("RELEASE job")
                results.append((True, value))
        sqlite.execute("COMMIT")
    except BaseException as exc:  # COMMIT failed, or worse: no transaction is left open either way
        if sqlite.in_transaction:
            with suppress(sqlite3.Error):
                sqlite.rollback()
        if not isinstance(exc, Exception):
            raise
        return [(False, exc)] * len(jobs)
    return results


def _rowcount(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    return connection.execute(sql, params).rowcount


def _fetchall(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    return connection.execute(sql, params).fetchall()


_SINGLE_STATEMENTS = frozenset({_rowcount, _fetchall})


def _is_read(job: _Job) -> bool:
    return job.work is _fetchall and job.args[0].lstrip()[:6].upper() == "SELECT"


def _atomically(connection: sqlite3.Connection, work: Callable[..., T], args: tuple[Any, ...]) -> T:
    if connection.in_transaction:  # in a batch's transaction: the job's own savepoint makes it all or nothing
        return work(connection, *args)
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(connection, *args)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            with suppress(sqlite3.Error):  # the error that brought us here is the one to report
                connection.rollback()
        raise
    return result
