"""PostgreSQL's engine: an asyncpg pool, numbered migrations applied once, units of work, per-chat turns.

The repositories (storage/repositories/) write `?` placeholders: `numbered` turns them into `$1, $2, ...` (once per
distinct statement). A unit of work (storage/core.py) runs in a transaction on one connection.
Several `serve` and `sender` processes share one database. Three things make that safe:

- Migrations run under an advisory lock, recorded in `schema_version`: processes that start together wait for
  the first one and then find nothing left to apply.
- A statement runs on the connection *bound* to the current task when there is one (`bind()`), else on any pooled
  connection. A chat's turn (`ChatTurns.hold`) binds the connection that holds the chat's advisory lock, so every
  statement of that update's handling runs on it: no second connection is needed while the lock is held (a full
  pool cannot deadlock), and the lock spans the whole handling, replies included.
- Errors of the server or the network become `StorageError`, which handlers show as "try again".
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.core import Dialect, Kind, Statement, Unit, count, migrations, one, rows, value
from storage.errors import StorageError

MIGRATIONS_PACKAGE = "storage.migrations.postgres"
DEFAULT_POOL_SIZE = 10
COMMAND_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
# Errors that mean "the database could not do it now": shown to users as "try again", retried by the sender.
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_ROWCOUNT = re.compile(r"(\d+)$")
# A connection as the pool lends it (a proxy with the Connection's methods), bound to a task or not.
Connection = asyncpg.Connection | PoolConnectionProxy
PER_CHAT_SPACING = timedelta(seconds=1)  # across senders: a chat is not claimed again within this of a send
T = TypeVar("T")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `pg_advisory_lock` (two names sharing one only serialise each other)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (statements already numbered have no `?`)."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


class PostgresDialect(Dialect):
    name = "postgres"
    row_locks = True
    greatest = "greatest"
    strpos = "strpos"
    json_array = "json_build_array"
    data_version = "NULL"
    time_step = timedelta(0)

    def isin(self, expr: str, values: Sequence[Any], array_type: str = "text") -> tuple[str, list[Any]]:
        return f"{expr} = ANY(?::{array_type}[])", [list(values)]

    def rowset(self, name: str, columns: dict[str, str], values: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
        arrays = ", ".join(f"?::{kind}[]" for kind in columns.values())
        return (f"{name}({', '.join(columns)}) AS (SELECT * FROM unnest({arrays}))",
                [list(column) for column in zip(*values, strict=True)])

    def lock_name(self, name: str) -> Statement | None:
        return value("SELECT pg_advisory_xact_lock(?)", (lock_key(name),))

    def claim_spacing(self, now: datetime) -> tuple[str, list[Any]]:
        return (" AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.chat_id = p.chat_id AND o.id <> p.id"
                " AND (o.state = 'sending' OR o.sent_at > ?))", [now - PER_CHAT_SPACING])


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _rowcount(status: str) -> int:
    """'UPDATE 3' / 'INSERT 0 1' / 'DELETE 0' -> the number of rows (0 for other commands)."""
    match = _ROWCOUNT.search(status or "")
    return int(match.group(1)) if match else 0


async def _perform(conn: Connection, statement: Statement) -> Any:
    kind, sql, params = statement
    sql = numbered(sql)
    if kind is Kind.MANY:
        return await conn.executemany(sql, params)
    if kind is Kind.COUNT:
        return _rowcount(await conn.execute(sql, *params))
    if kind is Kind.ROWS:
        return list(await conn.fetch(sql, *params))
    return await (conn.fetchrow if kind is Kind.ONE else conn.fetchval)(sql, *params)


class Database:
    dialect = PostgresDialect()
    data_version = None  # nothing tells this process that another one committed: nothing is cached

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self.hops = 0
        self._bound: ContextVar[Connection | None] = ContextVar(f"pg-bound-{id(self)}", default=None)
        self._listener: asyncpg.Connection | None = None
        self._listening = asyncio.Lock()

    @classmethod
    async def open(cls, url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, command_timeout=COMMAND_TIMEOUT_S,
                                             timeout=CONNECT_TIMEOUT_S)
        except (*DATABASE_ERRORS, ValueError) as exc:
            raise StorageError(f"cannot open database {_safe(url)}: {exc}") from exc
        db = cls(pool, url)
        try:
            await db._migrate()
        except DATABASE_ERRORS as exc:
            await pool.close()
            raise StorageError(f"cannot prepare database {_safe(url)}: {exc}") from exc
        return db

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self.pool.close()

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for each NOTIFY on `channel`, on a connection of its own (outside the pool:
        a pooled connection is reset when released, which would end the LISTEN). Idempotent per channel."""
        async with self._listening:
            if self._listener is None or self._listener.is_closed():
                try:
                    self._listener = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
                except (*DATABASE_ERRORS, ValueError) as exc:
                    raise StorageError(str(exc)) from exc
            await self._listener.add_listener(channel, lambda _conn, _pid, _channel, payload: callback(payload))

    async def _migrate(self) -> None:
        async with self.pool.acquire() as conn:
            # One process migrates; the others wait here, then find every version applied.
            key = await conn.fetchval("SELECT hashtext('prakerja.migrate.' || current_schema())")
            await conn.execute("SELECT pg_advisory_lock($1)", key)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
                for number, name, sql in migrations(MIGRATIONS_PACKAGE, current):
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", number, name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)

    # --- connections ----------------------------------------------------------------------------------------
    @asynccontextmanager
    async def connection(self, *, bind: bool = False) -> AsyncIterator[Connection]:
        """The connection bound to this task (a chat's turn), or one from the pool for the block; `bind`: every
        statement of this task in the block runs on that one."""
        bound = self._bound.get()
        if bound is not None:
            yield bound
            return
        try:
            async with self.pool.acquire() as conn:
                token = self._bound.set(conn) if bind else None
                try:
                    yield conn
                finally:
                    if token is not None:
                        self._bound.reset(token)
        except DATABASE_ERRORS as exc:
            raise StorageError(str(exc)) from exc

    def bind(self) -> AbstractAsyncContextManager[Connection]:
        """Take a connection for the rest of this task's block: every statement in it runs there."""
        return self.connection(bind=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """This task's connection (or one from the pool) in a transaction, for the block."""
        async with self.connection() as conn:
            try:
                async with conn.transaction():
                    yield conn
            except DATABASE_ERRORS as exc:
                raise StorageError(str(exc)) from exc

    async def unit(self, work: Callable[..., Unit[T]], *args: Any) -> T:
        """A unit of work (storage/core.py) in one transaction."""
        async with self.transaction() as conn:
            return await self.run(conn, work, *args)

    async def run(self, conn: Connection, work: Callable[..., Unit[T]], *args: Any) -> T:
        """A unit of work on `conn` (in a transaction): each statement it yields, its result sent back."""
        steps, result = work(*args), None
        try:
            while True:
                statement = steps.send(result)
                self.hops += 1
                result = await _perform(conn, statement)
        except StopIteration as done:
            return done.value

    # --- single statements ----------------------------------------------------------------------------------
    async def _single(self, statement: Statement) -> Any:
        self.hops += 1
        async with self.connection() as conn:
            try:
                return await _perform(conn, statement)
            except DATABASE_ERRORS as exc:
                raise StorageError(str(exc)) from exc

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._single(count(sql, params))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self._single(rows(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        return await self._single(one(sql, params))

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._single(value(sql, params))


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
