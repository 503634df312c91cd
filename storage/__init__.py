"""Storage: the only layer that talks to the database.

`Storage` groups the repositories over one database, typed by the protocols of `storage.interface`.
`open_storage(target)` opens (and migrates) it: a `postgresql://` URL selects PostgreSQL (several processes share
it), anything else is a SQLite file (the embedded default). Handlers receive a `Storage` and never know which
backend runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from storage import interface
from storage.postgres.database import is_postgres_url
from storage.sqlite.database import Database, StorageError
from storage.sqlite.repositories import ImportConflict, ImportRow, Progress

__all__ = ["ImportConflict", "ImportRow", "Progress", "Storage", "StorageError", "is_postgres_url", "open_storage"]


class LocalTurns:
    """Chat turns of one process (SQLite): the channels' per-chat locks already order a chat's updates."""

    shared = False

    async def take(self, channel: str, chat: str) -> int | None:
        return None

    @asynccontextmanager
    async def hold(self, channel: str, chat: str, ticket: int | None = None) -> AsyncIterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class Storage:
    database: interface.Backend
    chats: interface.Chats
    accounts: interface.Accounts
    waves: interface.Waves
    link_attempts: interface.LinkAttempts
    catalogue: interface.Catalogue
    audit: interface.Audit
    webhooks: interface.Webhooks
    whatsapp: interface.WhatsApp
    metrics: interface.Metrics
    outbox: interface.Outbox
    roles: interface.Roles
    staff: interface.Staff
    tickets: interface.Tickets  # the hand-off to support staff (issue 8)
    turns: interface.ChatTurns = LocalTurns()  # noqa: RUF009  (stateless, shared by every SQLite storage)
    budget: interface.RateBudget | None = None  # the senders' shared rate budget (PostgreSQL), else each paces

    @property
    def backend(self) -> str:
        return "postgres" if self.turns.shared else "sqlite"

    async def close(self) -> None:
        await self.database.close()


# Storage field -> repository class, the same name in storage/sqlite/ and storage/postgres/.
REPOSITORIES = {"chats": "ChatRepository", "accounts": "AccountRepository", "waves": "WaveRepository",
                "link_attempts": "LinkAttemptRepository", "catalogue": "CatalogueRepository",
                "audit": "AuditRepository", "webhooks": "WebhookRepository", "whatsapp": "WhatsAppRepository",
                "metrics": "MetricsRepository", "outbox": "OutboxRepository", "roles": "RoleRepository",
                "staff": "StaffRepository",
                "tickets": "TicketRepository"}  # issue 8: storage/{sqlite,postgres}/tickets.py


def assemble(db: interface.Backend, modules: Sequence[ModuleType], **coordination: object) -> Storage:
    """Group a backend's repositories (found by class name in its `modules`) over `db`."""
    classes = {name: cls for module in modules for name, cls in vars(module).items() if isinstance(cls, type)}
    repositories = {field: classes[name](db) for field, name in REPOSITORIES.items()}
    return Storage(database=db, **repositories, **coordination)  # type: ignore[arg-type]


async def open_storage(target: Path | str, *, pool_size: int | None = None) -> Storage:
    """Open the database at `target`: a `postgresql://` URL (pool of `pool_size` connections) or a SQLite path."""
    if is_postgres_url(target):
        from storage.postgres import open_postgres

        return await open_postgres(str(target), pool_size=pool_size)
    from storage.sqlite import outbox, repositories, staff, tickets, webhooks

    return assemble(await Database.open(target), [repositories, outbox, staff, webhooks, tickets])
