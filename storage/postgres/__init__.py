"""The PostgreSQL backend (asyncpg): the shared repositories over a pool, for several processes at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.postgres.coordination import ChatTurns, RateBudget
from storage.postgres.database import DEFAULT_POOL_SIZE, Database

if TYPE_CHECKING:
    from storage import Storage


async def open_postgres(url: str, *, pool_size: int | None = None) -> Storage:
    """Open (and migrate) the database at `url` and group the repositories over it into a `storage.Storage`."""
    from storage import assemble  # storage/__init__.py imports this package: assemble exists once it is done

    db = await Database.open(url, pool_size=pool_size or DEFAULT_POOL_SIZE)
    return assemble(db, turns=ChatTurns(db), budget=RateBudget(db))
