"""Web-server repositories on PostgreSQL: webhook ids seen, WhatsApp chat state and statuses, metrics.

Mirrors storage/sqlite/webhooks.py. A redelivered update reaching another process is dropped by the primary key
of `webhook_seen`: `INSERT ... ON CONFLICT DO NOTHING` lets exactly one process record (and so handle) an id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.postgres.database import Database
from storage.sqlite.webhooks import (
    STATUS_KEEP,
    WEBHOOK_SEEN_KEEP,
    MetricCounts,
    StatusRecord,
    TierState,
    furthest,
    rank_sql,
)

_UPSERT_STATUSES = (  # a batch as arrays (one message once: `furthest`), in one statement
    "INSERT INTO whatsapp_statuses AS s (message_id, recipient, status, error_code, updated_at)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[])"
    " ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, error_code = excluded.error_code,"
    f" updated_at = excluded.updated_at WHERE {rank_sql('s.status')} < {rank_sql('excluded.status')}"
)


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_seen(self, source: str, update_id: str, now: datetime) -> bool:
        """Record the id; True the first time (in any process), False for a redelivery."""
        changed = await self._db.execute(
            "INSERT INTO webhook_seen (source, id, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            (source, update_id, now),
        )
        return changed > 0

    async def prune(self, now: datetime) -> int:
        """Forget old ids, old statuses and closed tier entries; return how many rows went."""
        removed = 0
        async with self._db.transaction() as tx:
            removed += await tx.execute("DELETE FROM webhook_seen WHERE seen_at < $1", (now - WEBHOOK_SEEN_KEEP,))
            removed += await tx.execute("DELETE FROM whatsapp_statuses WHERE updated_at < $1", (now - STATUS_KEEP,))
            removed += await tx.execute("DELETE FROM whatsapp_initiated WHERE opened_at < $1",
                                        (now - timedelta(hours=24),))
        return removed


class WhatsAppRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def receive(self, message_id: str, external_id: str, bsuid: str | None, at: datetime) -> bool:
        """An inbound message: mark its id seen and open the chat's 24-hour window, in one statement.

        False when the id was seen before (a redelivery, in this process or another): nothing is changed then.
        """
        row = await self._db.fetchone(
            "WITH seen AS (INSERT INTO webhook_seen (source, id, seen_at) VALUES ('whatsapp', $1, $2)"
            " ON CONFLICT DO NOTHING RETURNING id),"
            " chat AS (INSERT INTO whatsapp_chats AS w (external_id, bsuid, last_inbound_at)"
            " SELECT $3, $4, $2 FROM seen"
            " ON CONFLICT (external_id) DO UPDATE SET bsuid = coalesce(excluded.bsuid, w.bsuid),"
            " last_inbound_at = greatest(w.last_inbound_at, excluded.last_inbound_at) RETURNING 1)"
            " SELECT count(*) AS new FROM seen",
            (message_id, at, external_id, bsuid),
        )
        return bool(row and row["new"])

    async def last_inbound(self, external_ids: Sequence[str]) -> dict[str, datetime]:
        """The last inbound message time of each chat that has one."""
        if not external_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT external_id, last_inbound_at FROM whatsapp_chats WHERE external_id = ANY($1::text[])"
            " AND last_inbound_at IS NOT NULL",
            (list(external_ids),),
        )
        return {r["external_id"]: r["last_inbound_at"] for r in rows}

    async def reply_state(self, external_id: str) -> tuple[str, str | None]:
        """(locale, stored choices JSON) of a WhatsApp chat: what rendering and typed numbers need."""
        row = await self._db.fetchone(
            "SELECT coalesce(c.locale, 'id') AS locale, w.choices FROM (SELECT $1::text AS external_id) k"
            " LEFT JOIN chats c ON c.channel = 'whatsapp' AND c.external_id = k.external_id"
            " LEFT JOIN whatsapp_chats w ON w.external_id = k.external_id",
            (external_id,),
        )
        assert row is not None
        return row["locale"], row["choices"]

    async def set_choices(self, external_id: str, choices: str | None, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO whatsapp_chats (external_id, choices, choices_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (external_id) DO UPDATE SET choices = excluded.choices, choices_at = excluded.choices_at",
            (external_id, choices, now),
        )

    async def record_statuses(self, records: Sequence[StatusRecord]) -> None:
        """As the SQLite repository's (the same rules), with arrays in one statement instead of chunks."""
        rows = furthest(records)
        if not rows:
            return
        failed = [(f"WhatsApp error {r.error_code} after sending", r.message_id) for r in rows if r.status == "failed"]
        params = ([r.message_id for r in rows], [r.recipient for r in rows], [r.status for r in rows],
                  [r.error_code for r in rows], [r.at for r in rows])
        if not failed:
            await self._db.execute(_UPSERT_STATUSES, params)
            return
        async with self._db.transaction() as tx:
            await tx.execute(_UPSERT_STATUSES, params)
            await tx.executemany(
                "UPDATE deliveries SET state = 'failed', error = $1 WHERE message_id = $2"
                " AND channel = 'whatsapp' AND state = 'sent'",
                failed,
            )

    async def delivery_statuses(self, broadcast_id: int) -> dict[str, int]:
        """For /siaran_status: the broadcast's WhatsApp deliveries by their last status (sent, delivered, read,
        failed); 'unknown' when no callback came yet."""
        rows = await self._db.fetchall(
            "SELECT coalesce(s.status, 'unknown') AS status, count(*) AS n FROM deliveries d"
            " LEFT JOIN whatsapp_statuses s ON s.message_id = d.message_id"
            " WHERE d.broadcast_id = $1 AND d.channel = 'whatsapp' AND d.message_id IS NOT NULL GROUP BY 1",
            (broadcast_id,),
        )
        return {r["status"]: r["n"] for r in rows}

    async def statuses(self, message_ids: Sequence[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT message_id, status FROM whatsapp_statuses WHERE message_id = ANY($1::text[])",
            (list(message_ids),),
        )
        return {r["message_id"]: r["status"] for r in rows}

    async def status_counts(self) -> dict[str, int]:
        rows = await self._db.fetchall("SELECT status, count(*) AS n FROM whatsapp_statuses GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def tier_state(self, external_id: str, now: datetime, tier: int | None) -> TierState:
        """May a business-initiated message go to this user now, under a tier of `tier` users per 24 h?"""
        row = await self._db.fetchone(
            "WITH w AS (SELECT external_id, opened_at, row_number() OVER (ORDER BY opened_at) AS n,"
            " count(*) OVER () AS total FROM whatsapp_initiated WHERE opened_at >= $1)"
            " SELECT (SELECT count(*) FROM w) AS counted, (SELECT bool_or(external_id = $2) FROM w) AS known,"
            " (SELECT opened_at FROM w WHERE n = total - $3 + 1) AS oldest",
            (now - timedelta(hours=24), external_id, tier or 0),
        )
        assert row is not None
        counted = int(row["counted"])
        if tier is None or row["known"] or counted < tier:
            return TierState(True, counted, None)
        # Held until enough of the oldest conversations leave the 24-hour window to make room for one more.
        return TierState(False, counted, row["oldest"] + timedelta(hours=24))

    async def initiated(self, external_id: str, at: datetime) -> None:
        """Count a business-initiated conversation with this user (a new one once the old one is over 24 h)."""
        await self._db.execute(
            "INSERT INTO whatsapp_initiated AS w (external_id, opened_at) VALUES ($1, $2) ON CONFLICT (external_id)"
            " DO UPDATE SET opened_at = excluded.opened_at WHERE w.opened_at < $3",
            (external_id, at, at - timedelta(hours=24)),
        )


class MetricsRepository:
    """Counts read at scrape time: they survive restarts and need no hook in the handlers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def counts(self, now: datetime) -> MetricCounts:
        row = await self._db.fetchone(
            "SELECT (SELECT count(*) FROM audit_log WHERE action = 'link_failed') AS failures,"
            " (SELECT count(*) FROM link_attempts WHERE locked_until > $1) AS locked",
            (now,),
        )
        assert row is not None
        rows = await self._db.fetchall("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return MetricCounts(row["failures"], row["locked"], {r["state"]: r["n"] for r in rows})

    async def ping(self) -> None:
        await self._db.fetchone("SELECT 1")
