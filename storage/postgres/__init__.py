"""The PostgreSQL backend (asyncpg): the same repositories as storage/sqlite/, for several processes at once."""

from __future__ import annotations

from storage.postgres.database import DEFAULT_POOL_SIZE


async def open_postgres(url: str, *, pool_size: int | None = None):  # type: ignore[no-untyped-def]  # -> Storage
    """Open (and migrate) the database at `url` and group its repositories into a `storage.Storage`."""
    from storage import Storage
    from storage.postgres.coordination import ChatTurns, RateBudget
    from storage.postgres.database import Database
    from storage.postgres.outbox import OutboxRepository
    from storage.postgres.repositories import (
        AccountRepository,
        AuditRepository,
        CatalogueRepository,
        ChatRepository,
        LinkAttemptRepository,
        WaveRepository,
    )
    from storage.postgres.staff import RoleRepository, StaffRepository
    from storage.postgres.webhooks import MetricsRepository, WebhookRepository, WhatsAppRepository

    db = await Database.open(url, pool_size=pool_size or DEFAULT_POOL_SIZE)
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
        turns=ChatTurns(db),
        budget=RateBudget(db),
    )
