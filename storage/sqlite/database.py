"""SQLite's engine: one aiosqlite connection in WAL mode, numbered migrations, batches and units of work.

aiosqlite runs every call of a connection on one worker thread, in the order they were handed to it. Statements of
concurrent chats go there in *batches*: while one batch runs on the thread, the statements of other chats collect
and go together when it returns, so the two threads wake each other once per batch, not once per statement, and a
batch is one transaction (one commit) with each job in a savepoint of its own, so a failing job undoes only itself
(`_run_batch`). A batch leaves at the end of the event loop's turn in which its first statement came (and the next
one after the tasks that the returning batch resumed had their turn), not at that first statement: the chats served
in the same turn go together. Handed over at once, the first statement of a turn went alone and the rest waited for
it, so under the webhook benchmark 1.43 batches went for each request, now 0.93 (each batch wakes the database
thread and writes the WAL once). A batch of plain reads opens a deferred transaction: it never waits for the write
lock that another process (an import, the sender) holds. A unit of work (storage/core.py) is one job: all its
statements run on the thread in one round trip, inside the batch's transaction, so no transaction is ever open
across an await (there is no `transaction()` that other chats' statements would have to wait for). `hops` counts the
round trips to the thread, `batches` the batches, for the benchmarks.

aiosqlite's public API carries a batch: the connection is opened with `factory=BatchingConnection`, a
`sqlite3.Connection` (aiosqlite passes `factory` on to `sqlite3.connect`, which documents it) whose `execute` runs
the jobs given as its parameters when its SQL is the `BATCH` marker. So `connection.execute_fetchall(BATCH, jobs)`,
aiosqlite's own helper (`execute(...).fetchall()` on its thread), is one hop, and no private attribute of aiosqlite
is touched (were a later aiosqlite to stop calling `execute`, sqlite3 would refuse the marker: loudly). That
coroutine is driven by hand (`_advance`), as a task would but without one: its first step queues the batch on the
thread, its future's done-callback brings the results back. A task per batch cost 10-15 µs more per round trip (a
statement alone: 58-84 µs against 43-52), as would a long-lived task (one more turn of the event loop per wake-up).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, TypeVar

import aiosqlite

from storage.core import Dialect, Kind, Statement, Unit, migrations
from storage.errors import StorageError
from storage.models import WaveResult

T = TypeVar("T")
MIGRATIONS_PACKAGE = "storage.migrations.sqlite"
BUSY_TIMEOUT_MS = 5_000


def _stored_time(value: datetime) -> str:
    """A datetime as SQLite stores it: ISO 8601 in UTC, to the second (text compares in time order)."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give a time zone")
    return value.astimezone(UTC).isoformat(timespec="seconds")


sqlite3.register_adapter(datetime, _stored_time)
# A row's result binds as its text: without an adapter, sqlite3 first looks for one (and for `__conform__`) on
# every str subclass it binds, which costs a third of staging a million rows.
sqlite3.register_adapter(WaveResult, str)


class SqliteDialect(Dialect):
    name = "sqlite"
    row_locks = False  # one writer at a time: BEGIN IMMEDIATE serialises, nothing to lock
    greatest = "max"
    strpos = "instr"
    json_array = "json_array"
    data_version = "(SELECT data_version FROM pragma_data_version)"
    time_step = timedelta(seconds=1)

    def isin(self, expr: str, values: Sequence[Any], array_type: str = "text") -> tuple[str, list[Any]]:
        return f"{expr} IN ({','.join('?' * len(values))})", list(values)

    def rowset(self, name: str, columns: dict[str, str], values: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
        row = "(" + ", ".join("?" * len(columns)) + ")"
        return (f"{name}({', '.join(columns)}) AS (VALUES {', '.join([row] * len(values))})",
                [item for entry in values for item in entry])


def _reraise(exc: sqlite3.Error) -> NoReturn:
    """SQLite's 'cannot do it now' errors as StorageError: database is locked (busy_timeout passed), attempt to
    write a readonly database, database or disk is full, disk I/O error, malformed file. Constraint violations
    and SQL mistakes (IntegrityError, ProgrammingError) are bugs and stay what they are."""
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        raise StorageError(str(exc)) from exc
    raise exc


def _read_only_hint(path: Path) -> str:
    """Why a database cannot be prepared, when the reason is that it cannot be written."""
    if str(path) == ":memory:":
        return ""
    for target in (path, path.parent):
        if target.exists() and not os.access(target, os.W_OK):
            return f" ({target} is read-only: the bot needs to write its database, its -wal and -shm files)"
    return ""


BATCH: Any = object()  # given as its SQL, tells BatchingConnection.execute to run a batch (`_run_batch`)


class _Results(list[tuple[bool, Any]]):
    def fetchall(self) -> list[tuple[bool, Any]]:  # what aiosqlite's execute_fetchall reads of a cursor
        return self


def _unhex(text: str | None) -> bytes | None:
    try:
        return bytes.fromhex(text) if isinstance(text, str) else None
    except ValueError:
        return None


class BatchingConnection(sqlite3.Connection):
    """The sqlite3 connection under aiosqlite; `execute(BATCH, jobs)` runs a batch (on aiosqlite's thread)."""

    def execute(self, sql: Any, parameters: Any = (), /) -> Any:
        if sql is BATCH:
            return _Results(_run_batch(self, parameters))
        return super().execute(sql, parameters)


class Database:
    dialect = SqliteDialect()

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self.hops = 0
        self.batches = 0  # batches handed to the thread (benchmarks: statements per batch)
        # SQLite's PRAGMA data_version as last read (every chat snapshot reads it): it changes when another
        # connection (another process) commits. Per-process caches of what rarely changes compare it.
        self.data_version: int | None = None
        self._waiting: list[_Job] = []  # jobs collecting for the next batch
        self._drained = asyncio.Event()  # set while no batch is on its way to the thread or back
        self._drained.set()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None, factory=BatchingConnection)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        db = cls(connection, path)
        try:
            if sqlite3.sqlite_version_info < (3, 41):  # unhex() for the migrations, as newer SQLite has it
                await connection.create_function("unhex", 1, _unhex, deterministic=True)
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
        await self._drained.wait()  # the jobs handed over so far run first
        await self.connection.close()

    async def _migrate(self) -> None:
        ((version,),) = await self.connection.execute_fetchall("PRAGMA user_version")
        for number, _name, sql in migrations(MIGRATIONS_PACKAGE, version):
            # executescript commits first; the script and the version bump run in one transaction.
            await self.connection.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self.run(_rowcount, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self.run(_fetchall, sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        found = await self.fetchall(sql, params)
        return found[0] if found else None

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = await self.fetchall(sql, params)
        return found[0][0] if found else None

    async def unit(self, work: Callable[..., Unit[T]], *args: Any) -> T:
        """A unit of work (storage/core.py) as one job: one round trip, all or nothing."""
        return await self.run(_drive, work, args)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(connection, *args)`, plain sqlite3 code, on the database thread: one round trip, however many
        statements it runs. It runs in a batch with other chats' statements (see `_run_batch`); what it writes is
        all or nothing."""
        self.hops += 1
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Job(future, work, args))
        if self._drained.is_set():  # the batch goes at the end of this turn of the event loop, with all it brings
            self._drained.clear()
            asyncio.get_running_loop().call_soon(self._hand_over)
        try:
            return await future
        except sqlite3.Error as exc:
            _reraise(exc)

    def _hand_over(self) -> None:
        """Give the waiting jobs to the database thread as one batch (called when no batch is on its way)."""
        jobs, self._waiting = self._waiting, []
        self.batches += 1
        self._advance(jobs, self.connection.execute_fetchall(BATCH, jobs), None)

    def _advance(self, jobs: list[_Job], steps: Coroutine[Any, None, Any], _done: object) -> None:
        """Drive aiosqlite's `execute_fetchall` as a task would, without one: the first step queues the batch on
        the database thread at once (a task would do it at the event loop's next turn), and each future it waits
        for resumes it from its done-callback. At the end, the results go to their jobs and the next batch goes."""
        try:
            waiting_for = steps.send(None)
        except StopIteration as finished:
            results = finished.value
        except Exception as exc:  # the connection is closed (aiosqlite's ValueError) or went away
            results = [(False, exc)] * len(jobs)
        else:
            if waiting_for is None:  # a bare yield (asyncio.sleep(0)): a turn of the loop
                asyncio.get_running_loop().call_soon(self._advance, jobs, steps, None)
            else:
                waiting_for.add_done_callback(partial(self._advance, jobs, steps))
            return
        for job, (ok, outcome) in zip(jobs, results, strict=True):
            if not job.future.done():  # else its caller was cancelled
                if ok:
                    job.future.set_result(outcome)
                else:
                    job.future.set_exception(outcome)
        if self._waiting:  # after the tasks just resumed had their turn: what they ask next goes in the same batch
            asyncio.get_running_loop().call_soon(self._hand_over)
        else:
            self._drained.set()


class _Job(NamedTuple):
    future: asyncio.Future[Any]
    work: Callable[..., Any]
    args: tuple[Any, ...]


def _run_batch(sqlite: sqlite3.Connection, jobs: list[_Job]) -> list[tuple[bool, Any]]:
    """On the database thread: each job in turn, (True, its result) or (False, its exception).

    Several jobs share one transaction, so the batch costs one commit (one write to the WAL) instead of one per
    statement. A job that fails leaves nothing behind (SQLite undoes a failed statement; a job of several statements
    runs in a savepoint) and the others go on. An error that ends the transaction (disk full, I/O error) or a failed
    BEGIN or COMMIT fails every job of the batch: none of their writes is in the database."""
    alone = len(jobs) == 1
    if alone and jobs[0].work in _SINGLE_STATEMENTS:  # one statement: SQLite makes it all or nothing by itself
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
            # statements gets a savepoint among others, to be undone as a whole (alone, the transaction is its own).
            savepoint = not alone and job.work not in _SINGLE_STATEMENTS
            if savepoint:
                sqlite.execute("SAVEPOINT job")
            try:
                outcome = job.work(sqlite, *job.args)
            except Exception as exc:
                if alone or not sqlite.in_transaction:  # nothing else to keep, or SQLite rolled it all back
                    raise
                if savepoint:
                    sqlite.execute("ROLLBACK TO job")
                    sqlite.execute("RELEASE job")
                results.append((False, exc))
            else:
                if savepoint:
                    sqlite.execute("RELEASE job")
                results.append((True, outcome))
        sqlite.execute("COMMIT")
    except BaseException as exc:  # a job alone failed, COMMIT failed, or worse: no transaction is left open
        if sqlite.in_transaction:
            with suppress(sqlite3.Error):
                sqlite.rollback()
        if not isinstance(exc, Exception):
            raise
        return [(False, exc)] * len(jobs)
    return results


_execute = sqlite3.Connection.execute  # a job's statements: not through BatchingConnection.execute's check


def _rowcount(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    return _execute(connection, sql, params).rowcount


def _fetchall(connection: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    return _execute(connection, sql, params).fetchall()


_SINGLE_STATEMENTS = frozenset({_rowcount, _fetchall})


def _is_read(job: _Job) -> bool:
    return job.work is _fetchall and job.args[0].lstrip()[:6].upper() == "SELECT"


def _drive(connection: sqlite3.Connection, work: Callable[..., Unit[T]], args: tuple[Any, ...]) -> T:
    """Run a unit of work (storage/core.py) on the database thread: each statement it yields, its result sent back."""
    steps, result = work(*args), None
    try:
        while True:
            result = _perform(connection, steps.send(result))
    except StopIteration as done:
        return done.value


def _perform(connection: sqlite3.Connection, statement: Statement) -> Any:
    kind, sql, params = statement
    if kind is Kind.MANY:
        connection.executemany(sql, params)
        return None
    cursor = _execute(connection, sql, params)
    if kind is Kind.COUNT:
        return cursor.rowcount
    found = cursor.fetchall()  # all: a RETURNING statement's cursor is done only once read to its end
    if kind is Kind.ROWS:
        return found
    if not found:
        return None
    return found[0] if kind is Kind.ONE else found[0][0]
