"""Storage: the only layer that talks to the database.

`Storage` groups the repositories over one database, typed by the protocols of `storage.interface`.
`open_storage(target)` opens (and migrates) it: a `postgresql://` URL selects PostgreSQL (several processes share
it), anything else is a SQLite file (the embedded default). Handlers receive a `Storage` and never know which
backend runs. Each repository is written once (storage/repositories/) over the engine of either backend
(storage/sqlite/, storage/postgres/): storage/core.py says how, docs/design-notes.md note 11 why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from storage import interface
from storage.core import Repository
from storage.errors import ImportConflict, StorageError
from storage.models import ImportRow, Progress
from storage.postgres.database import is_postgres_url
from storage.repositories import chats, inbox, outbox, registry, retention, staff, tickets, understanding, webhooks

__all__ = ["ImportConflict", "ImportRow", "Progress", "Storage", "StorageError", "is_postgres_url", "open_storage"]


class LocalTurns:
    """Chat turns of one process (SQLite): the channels' per-chat locks already order a chat's updates."""

    shared = False

    async def take(self, channel: str, chat: str, update_id: str | None = None) -> int | None:
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
    link_codes: interface.LinkCodes  # verification codes asked for (issue 14.5)
    catalogue: interface.Catalogue
    audit: interface.Audit
    webhooks: interface.Webhooks
    whatsapp: interface.WhatsApp
    metrics: interface.Metrics
    outbox: interface.Outbox
    roles: interface.Roles
    staff: interface.Staff
    tickets: interface.Tickets  # the hand-off to support staff (issue 8)
    retention: interface.Retention  # deleting what is kept longer than needed (issue 12)
    faq: interface.Faq  # the FAQ an admin imported (issue 13)
    unmatched: interface.Unmatched  # messages not understood, counted per day (issue 13)
    inbox: interface.Inbox  # updates stored before they are acknowledged (issue 14.3)
    turns: interface.ChatTurns = LocalTurns()  # noqa: RUF009  (stateless, shared by every SQLite storage)
    budget: interface.RateBudget | None = None  # the senders' shared rate budget (PostgreSQL), else each paces

    @property
    def backend(self) -> str:
        return "postgres" if self.turns.shared else "sqlite"

    async def close(self) -> None:
        await self.database.close()


# Storage field -> repository class (in storage/repositories/), one for both backends.
REPOSITORIES = {"chats": "ChatRepository", "accounts": "AccountRepository", "waves": "WaveRepository",
                "link_attempts": "LinkAttemptRepository", "link_codes": "LinkCodeRepository",
                "catalogue": "CatalogueRepository",
                "audit": "AuditRepository", "webhooks": "WebhookRepository", "whatsapp": "WhatsAppRepository",
                "metrics": "MetricsRepository", "outbox": "OutboxRepository", "roles": "RoleRepository",
                "staff": "StaffRepository", "tickets": "TicketRepository", "retention": "RetentionRepository",
                "faq": "FaqRepository", "unmatched": "UnmatchedRepository", "inbox": "InboxRepository"}
REPOSITORY_CLASSES = {cls.__name__: cls for module in (chats, inbox, outbox, registry, retention, staff,
                                                                  tickets, understanding, webhooks)
                      for cls in vars(module).values() if isinstance(cls, type) and Repository in cls.__mro__[1:]}


class Coordination(TypedDict, total=False):
    """What only a backend shared by several processes coordinates (storage/postgres/__init__.py)."""

    turns: interface.ChatTurns
    budget: interface.RateBudget | None


def assemble(db: interface.Backend, **coordination: Unpack[Coordination]) -> Storage:
    """Group the repositories over `db`, the engine of either backend (plus what only it coordinates)."""
    # By name: tests/storage/test_interface.py holds each class to its field's protocol.
    grouped: dict[str, Any] = {field: REPOSITORY_CLASSES[name](db) for field, name in REPOSITORIES.items()}
    return Storage(database=db, **grouped, **coordination)


async def open_storage(target: Path | str, *, pool_size: int | None = None) -> Storage:
    """Open the database at `target`: a `postgresql://` URL (pool of `pool_size` connections) or a SQLite path."""
    if is_postgres_url(target):
        from storage.postgres import open_postgres

        return await open_postgres(str(target), pool_size=pool_size)
    from storage.sqlite.database import Database

    return assemble(await Database.open(target))
