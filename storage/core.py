"""The storage core: what every repository (storage/repositories/) is written against, once for both backends.

A repository holds an `Engine`, the database of one backend (storage/sqlite/database.py, storage/postgres/
database.py), and writes its SQL once, in what SQLite and PostgreSQL both understand, with `?` placeholders (never
inside a string literal: PostgreSQL's engine numbers them `$1, $2, ...`). Values go in as Python has them (a
`datetime`, a `bool`); rows come back as mappings by column name, and `as_time` reads a time column of either. What
the two spell differently is asked of `self._d`, the engine's `Dialect`. It runs SQL two ways:
- one statement: `await self._db.fetchall(sql, params)`, `fetchone`, `fetchval`, `execute` (rows changed), or the
  `Repository` helpers `_one`, `_all`, `_pairs` that read the rows into records;
- a unit of work, several statements all or nothing: a generator method decorated `@unit`, which yields
  `Statement`s (`rows`, `one`, `value`, `count`, `many`) and receives each one's result:

      @unit
      def topic_lost(self, ticket_id: int, topic_id: int) -> Unit[None]:
          if (yield count("UPDATE tickets SET topic_id = NULL WHERE id = ? AND topic_id = ?", (ticket_id, topic_id))):
              yield audit("system", "support", "ticket_topic_lost", f"ticket:{ticket_id}", str(topic_id))

  Callers see an ordinary async method. SQLite runs the whole generator on its database thread in ONE round trip,
  inside one transaction (so it holds no lock across awaits); PostgreSQL runs it in a transaction on one
  connection, a round trip per statement. A unit is plain code between its yields: no awaits, nothing slow.

The layout, and how to add a repository: docs/design-notes.md, note 11.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import partial, update_wrapper
from importlib import resources
from typing import Any, ClassVar, Concatenate, NamedTuple, ParamSpec, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", bound="Repository")
Row = Any  # sqlite3.Row or asyncpg.Record: both read by column name (and by position)


class Kind(IntEnum):
    ROWS = 0  # every row
    ONE = 1  # the first row, or None
    VALUE = 2  # the first column of the first row, or None
    COUNT = 3  # the number of rows changed
    MANY = 4  # the statement once per parameter tuple; nothing


class Statement(NamedTuple):
    kind: Kind
    sql: str
    params: Sequence[Any] = ()


Unit = Generator[Statement, Any, T]


# The statements a unit yields, in Kind's order: rows(sql, params), one, value, count, many(sql, list of params).
rows, one, value, count, many = (partial(Statement, kind) for kind in Kind)


def migrations(package: str, applied: int) -> Iterator[tuple[int, str, str]]:
    """The numbered scripts of a backend (0001_init.sql, ...) after version `applied`, in order: number, name, SQL."""
    for name, entry in sorted((e.name, e) for e in resources.files(package).iterdir() if e.name.endswith(".sql")):
        number = int(name.split("_", 1)[0])
        if number > applied:
            log.info("applying migration %s", name)
            yield number, name, entry.read_text(encoding="utf-8")


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_time(stored: Any) -> Any:
    """A time column as read from either backend (SQLite: ISO text; PostgreSQL: a datetime, or ISO text in the
    session's time zone inside a JSON array), as a datetime in UTC."""
    return stored if stored is None or isinstance(stored, datetime) else datetime.fromisoformat(stored).astimezone(UTC)


class Dialect:
    """How one backend spells what the other spells differently. One instance per engine, no state."""

    name: ClassVar[str]
    row_locks: ClassVar[bool]  # several processes share the rows: lock the ones two of them could interleave on
    greatest: ClassVar[str]  # the larger of two values (SQLite's two-argument max, PostgreSQL's greatest)
    strpos: ClassVar[str]  # the position of a substring, 0 when absent (instr, strpos)
    json_array: ClassVar[str]  # several columns of a subquery as one JSON array (json_array, json_build_array)
    data_version: ClassVar[str]  # SQL of a number that changes when another connection commits, else NULL
    time_step: ClassVar[timedelta]  # stored times are cut to this (SQLite keeps seconds)

    def isin(self, expr: str, values: Sequence[Any], array_type: str = "text") -> tuple[str, list[Any]]:
        """`expr` is one of `values`: the SQL and its parameters."""
        raise NotImplementedError

    def rowset(self, name: str, columns: dict[str, str], values: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
        """A common table expression `name(columns...)` holding `values` (rows, in `columns`' order; `columns` maps
        each name to its PostgreSQL type): the text after WITH, and its parameters. At least one row."""
        raise NotImplementedError

    def lock(self, of: str = "", *, skip: bool = False) -> str:
        """The clause that locks the selected rows (of table alias `of`) where processes share them; `skip`: pass
        over rows another process has locked instead of waiting for them (SQLite: one writer, nothing to add)."""
        if not self.row_locks:
            return ""
        return " FOR UPDATE" + (f" OF {of}" if of else "") + (" SKIP LOCKED" if skip else "")

    def lock_name(self, name: str) -> Statement | None:
        """A statement that serialises transactions on `name` until they end, where processes share the database."""
        return None

    def claim_spacing(self, now: datetime) -> tuple[str, list[Any]]:
        """Extra terms for claiming deliveries (alias `p`) where several senders claim: a chat with a delivery in
        flight or sent within the platform's per-chat spacing is left to the sender that has it."""
        return "", []


class Backend(Protocol):
    """The database under the repositories, as code above the storage layer sees it (`storage.Storage.database`,
    re-exported by storage.interface): statements with `?` placeholders, otherwise in the backend's own SQL
    dialect; only storage/ and tests that inspect rows use them."""

    hops: int  # round trips so far (benchmarks)

    async def close(self) -> None: ...
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class Engine(Backend, Protocol):
    """The database of one backend, as the repositories use it."""

    dialect: Dialect
    data_version: int | None  # SQLite: PRAGMA data_version as last read; PostgreSQL: None (nothing to compare)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    async def unit(self, work: Callable[..., Unit[T]], *args: Any) -> T: ...


class Repository:
    """A repository over the engine of either backend (storage/repositories/)."""

    def __init__(self, db: Engine) -> None:
        self._db = db
        self._d = db.dialect

    async def _one(self, read: Callable[[Row], T], sql: str, params: Sequence[Any] = ()) -> T | None:
        """The first row of a query as a record (`read` makes it one), or None."""
        row = await self._db.fetchone(sql, params)
        return None if row is None else read(row)

    async def _all(self, read: Callable[[Row], T], sql: str, params: Sequence[Any] = ()) -> list[T]:
        """Every row of a query as a record."""
        return [read(r) for r in await self._db.fetchall(sql, params)]

    async def _pairs(self, sql: str, params: Sequence[Any] = ()) -> dict[Any, Any]:
        """A query of two columns as a dict: the first column's value -> the second's."""
        return {r[0]: r[1] for r in await self._db.fetchall(sql, params)}


def unit(work: Callable[Concatenate[R, P], Unit[T]]) -> Callable[Concatenate[R, P], Coroutine[Any, Any, T]]:
    """A repository's generator method as the async method that runs it, as one unit of work, on its engine."""

    async def run(self: R, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._db.unit(partial(work, self, *args, **kwargs))

    update_wrapper(run, work)
    signature = inspect.signature(work)  # as callers see it: Unit[X] -> X
    result = signature.return_annotation
    if isinstance(result, str) and result.startswith("Unit[") and result.endswith("]"):
        # inspect.signature reads __signature__; typeshed does not declare it on functions
        run.__signature__ = signature.replace(return_annotation=result[5:-1])  # type: ignore[attr-defined]
    return run
