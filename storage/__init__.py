"""Storage: the only layer that talks to the database.

`Storage` groups the repositories over one database, typed by the protocols of `storage.interface`.
`open_storage(target)` opens (and migrates) it: a `postgresql://` URL selects PostgreSQL (several processes share
it), anything else is a SQLite file (the embedded default). Handlers receive a `Storage` and never know which
backend runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from storage import interface
from storage.postgres.database import is_postgres_url
from storage.sqlite.database import Database, StorageError
from storage.sqlite.outbox import OutboxRepository
from storage.sqlite.repositories import (
    AccountRepository,
    AuditRepository,
    CatalogueRepository,
    ChatRepository,
    ImportConflict,
    ImportRow,
    LinkAttemptRepository,
    Progress,
    WaveRepository,
)
from storage.sqlite.staff import RoleRepository, StaffRepository
from storage.sqlite.webhooks import MetricsRepository, WebhookRepository, WhatsAppRepository

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
    turns: interface.ChatTurns = LocalTurns()  # noqa: RUF009  (stateless, shared by every SQLite storage)
    budget: interface.RateBudget | None = None  # the senders' shared rate budget (PostgreSQL), else each paces

    @property
    def backend(self) -> str:
        return "postgres" if self.turns.shared else "sqlite"

    async def close(self) -> None:
        await self.database.close()


async def open_storage(target: Path | str, *, pool_size: int | None = None) -> Storage:
    """Open the database at `target`: a `postgresql://` URL (pool of `pool_size` connections) or a SQLite path."""
    if is_postgres_url(target):
        from storage.postgres import open_postgres

        return await open_postgres(str(target), pool_size=pool_size)
    db = await Database.open(target)
    return Storage(
        database=db,
        chats=ChatRepository(db),
        accounts=AccountRepository(db),
        waves=WaveRepository(db),
        link_attempts=LinkAttemptRepository(db),
        catalogue=CatalogueRepository(db),
        audit=AuditRepository(db),
        webhooks=WebhookRepository(db),
        whatsapp=WhatsAppRepository(db),
        metrics=MetricsRepository(db),
        outbox=OutboxRepository(db),
        roles=RoleRepository(db),
        staff=StaffRepository(db),
    )
