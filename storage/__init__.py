"""Storage: the only layer that talks to the database.

`Storage` groups the repositories over one database. `open_storage` opens (and migrates) the SQLite file;
handlers receive a `Storage` and never know which backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

__all__ = ["ImportConflict", "ImportRow", "Progress", "Storage", "StorageError", "open_storage"]


@dataclass(frozen=True, slots=True)
class Storage:
    database: Database
    chats: ChatRepository
    accounts: AccountRepository
    waves: WaveRepository
    link_attempts: LinkAttemptRepository
    catalogue: CatalogueRepository
    audit: AuditRepository
    webhooks: WebhookRepository
    whatsapp: WhatsAppRepository
    metrics: MetricsRepository
    outbox: OutboxRepository
    roles: RoleRepository
    staff: StaffRepository

    async def close(self) -> None:
        await self.database.close()


async def open_storage(path: Path | str) -> Storage:
    db = await Database.open(path)
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
