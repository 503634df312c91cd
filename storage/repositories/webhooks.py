"""Repositories of the web server: webhook ids seen (redelivery), WhatsApp chat state, statuses, metrics.

A redelivered update reaching another process is dropped by the primary key of `webhook_seen`: `INSERT ... ON
CONFLICT DO NOTHING` lets exactly one process record (and so handle) an id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.core import Repository, Unit, as_time, count, many, unit
from storage.models import MetricCounts, StatusRecord, TierState

WEBHOOK_SEEN_KEEP = timedelta(days=7)  # Meta retries a webhook for up to 7 days; Telegram keeps updates 24 h
STATUS_KEEP = timedelta(days=30)
TIER_WINDOW = timedelta(hours=24)  # WhatsApp counts the unique users of business-initiated conversations over this
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}  # a late "delivered" does not undo "read"
STATUS_ROWS_PER_STATEMENT = 500  # 5 parameters a row, far below SQLite's 32,766 (and PostgreSQL's 32,767)
STATUS_COLUMNS = {"message_id": "text", "recipient": "text", "status": "text", "error_code": "int",
                  "updated_at": "timestamptz"}


def furthest(records: Sequence[StatusRecord]) -> list[StatusRecord]:
    """One record per message: the first with the highest rank, as applying them in order would keep (a status
    replaces the stored one only when it ranks higher). One statement then never touches a row twice."""
    best: dict[str, StatusRecord] = {}
    for record in records:
        kept = best.get(record.message_id)
        if kept is None or STATUS_RANK.get(record.status, 0) > STATUS_RANK.get(kept.status, 0):
            best[record.message_id] = record
    return list(best.values())


def rank_sql(column: str) -> str:
    """STATUS_RANK in SQL, of a status column."""
    return f"(CASE {column} {' '.join(f'WHEN {s!r} THEN {n}' for s, n in STATUS_RANK.items())} ELSE 0 END)"


class WebhookRepository(Repository):
    async def first_seen(self, source: str, update_id: str, now: datetime) -> bool:
        """Record the id; True the first time (in any process), False for a redelivery."""
        return await self._db.execute("INSERT INTO webhook_seen (source, id, seen_at) VALUES (?, ?, ?)"
                                      " ON CONFLICT DO NOTHING", (source, update_id, now)) > 0

    @unit
    def prune(self, now: datetime) -> Unit[int]:
        """Forget old ids, old statuses and closed tier entries; return how many rows went."""
        removed = yield count("DELETE FROM webhook_seen WHERE seen_at < ?", (now - WEBHOOK_SEEN_KEEP,))
        removed += yield count("DELETE FROM whatsapp_statuses WHERE updated_at < ?", (now - STATUS_KEEP,))
        removed += yield count("DELETE FROM whatsapp_initiated WHERE opened_at < ?", (now - TIER_WINDOW,))
        return removed


class WhatsAppRepository(Repository):
    @unit
    def receive(self, message_id: str, external_id: str, bsuid: str | None, at: datetime) -> Unit[bool]:
        """An inbound message: mark its id seen and open the chat's 24-hour window, all or nothing.

        False when the id was seen before (a redelivery, in this process or another): nothing is changed then.
        """
        if not (yield count("INSERT INTO webhook_seen (source, id, seen_at) VALUES ('whatsapp', ?, ?)"
                            " ON CONFLICT DO NOTHING", (message_id, at))):
            return False
        yield count(*self._window(external_id, bsuid, at))
        return True

    async def received(self, external_id: str, bsuid: str | None, at: datetime) -> None:
        """An inbound message the durable inbox stored (its row, unique on the id, dropped redeliveries already):
        only the chat's 24-hour window is opened, one statement (`receive` without the `webhook_seen` INSERT)."""
        await self._db.execute(*self._window(external_id, bsuid, at))

    def _window(self, external_id: str, bsuid: str | None, at: datetime) -> tuple[str, tuple[object, ...]]:
        latest = f"{self._d.greatest}(whatsapp_chats.last_inbound_at, excluded.last_inbound_at)"
        return ("INSERT INTO whatsapp_chats (external_id, bsuid, last_inbound_at) VALUES (?, ?, ?)"
                " ON CONFLICT (external_id) DO UPDATE SET bsuid = coalesce(excluded.bsuid, whatsapp_chats.bsuid),"
                f" last_inbound_at = coalesce({latest}, excluded.last_inbound_at)", (external_id, bsuid, at))

    async def last_inbound(self, external_ids: Sequence[str]) -> dict[str, datetime]:
        """The last inbound message time of each chat that has one."""
        if not external_ids:
            return {}
        where, params = self._d.isin("external_id", external_ids)
        found = await self._pairs(
            f"SELECT external_id, last_inbound_at FROM whatsapp_chats WHERE {where} AND last_inbound_at IS NOT NULL",
            params,
        )
        return {external_id: as_time(at) for external_id, at in found.items()}

    async def reply_state(self, external_id: str) -> tuple[str, str | None]:
        """(locale, stored choices JSON) of a WhatsApp chat: what rendering and typed numbers need."""
        row = await self._db.fetchone(
            "SELECT coalesce((SELECT locale FROM chats WHERE channel = 'whatsapp' AND external_id = ?), 'id')"
            " AS locale, (SELECT choices FROM whatsapp_chats WHERE external_id = ?) AS choices",
            (external_id, external_id),
        )
        return row["locale"], row["choices"]

    async def set_choices(self, external_id: str, choices: str | None, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO whatsapp_chats (external_id, choices, choices_at) VALUES (?, ?, ?)"
            " ON CONFLICT (external_id) DO UPDATE SET choices = excluded.choices, choices_at = excluded.choices_at",
            (external_id, choices, now),
        )

    async def record_statuses(self, records: Sequence[StatusRecord]) -> None:
        """Keep the furthest status of each message (callbacks may come out of order); a failure found after the
        send also fails the outbox delivery that carried the message. The web server writes the callbacks that
        came in meanwhile together (three arrive for every message sent): one statement for a batch, and a
        transaction only when a failure also touches the outbox."""
        kept = furthest(records)
        if not kept:
            return
        upserts = [self._upsert_statuses(kept[i:i + STATUS_ROWS_PER_STATEMENT])
                   for i in range(0, len(kept), STATUS_ROWS_PER_STATEMENT)]
        failed = [(f"WhatsApp error {r.error_code} after sending", r.message_id) for r in kept if r.status == "failed"]
        if failed:
            return await self._record_failures(upserts, failed)
        for sql, params in upserts:
            await self._db.execute(sql, params)

    def _upsert_statuses(self, chunk: list[StatusRecord]) -> tuple[str, list[object]]:
        table, params = self._d.rowset(
            "s", STATUS_COLUMNS, [(r.message_id, r.recipient, r.status, r.error_code, r.at) for r in chunk]
        )
        return (f"WITH {table} INSERT INTO whatsapp_statuses ({', '.join(STATUS_COLUMNS)})"
                f" SELECT {', '.join(STATUS_COLUMNS)} FROM s WHERE true"
                " ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, error_code = excluded.error_code,"
                f" updated_at = excluded.updated_at WHERE {rank_sql('whatsapp_statuses.status')}"
                f" < {rank_sql('excluded.status')}", params)

    @unit
    def _record_failures(self, upserts: list[tuple[str, list[object]]], failed: list[tuple[str, str]]) -> Unit[None]:
        for sql, params in upserts:
            yield count(sql, params)
        yield many("UPDATE deliveries SET state = 'failed', error = ? WHERE message_id = ? AND channel = 'whatsapp'"
                   " AND state = 'sent'", failed)

    async def delivery_statuses(self, broadcast_id: int) -> dict[str, int]:
        """For /siaran_status: the broadcast's WhatsApp deliveries by their last status (sent, delivered, read,
        failed); 'unknown' when no callback came yet."""
        return await self._pairs(
            "SELECT coalesce(s.status, 'unknown') AS status, count(*) AS n FROM deliveries d"
            " LEFT JOIN whatsapp_statuses s ON s.message_id = d.message_id"
            " WHERE d.broadcast_id = ? AND d.channel = 'whatsapp' AND d.message_id IS NOT NULL GROUP BY 1",
            (broadcast_id,),
        )

    async def statuses(self, message_ids: Sequence[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        where, params = self._d.isin("message_id", message_ids)
        return await self._pairs(f"SELECT message_id, status FROM whatsapp_statuses WHERE {where}", params)

    async def status_counts(self) -> dict[str, int]:
        return await self._pairs("SELECT status, count(*) FROM whatsapp_statuses GROUP BY status")

    async def tier_state(self, external_id: str, now: datetime, tier: int | None) -> TierState:
        """May a business-initiated message go to this user now, under a tier of `tier` users per 24 h?"""
        row = await self._db.fetchone(
            "WITH w AS (SELECT external_id, opened_at, row_number() OVER (ORDER BY opened_at) AS n,"
            " count(*) OVER () AS total FROM whatsapp_initiated WHERE opened_at >= ?)"
            " SELECT (SELECT count(*) FROM w) AS counted,"
            " (SELECT count(*) FROM w WHERE external_id = ?) AS known,"
            " (SELECT opened_at FROM w WHERE n = total - ? + 1) AS oldest",
            (now - TIER_WINDOW, external_id, tier or 0),
        )
        counted = int(row["counted"])
        if tier is None or row["known"] or counted < tier:
            return TierState(True, counted, None)
        # Held until enough of the oldest conversations leave the 24-hour window to make room for one more.
        return TierState(False, counted, as_time(row["oldest"]) + TIER_WINDOW)

    async def initiated(self, external_id: str, at: datetime) -> None:
        """Count a business-initiated conversation with this user (a new one once the old one is over 24 h)."""
        await self._db.execute(
            "INSERT INTO whatsapp_initiated (external_id, opened_at) VALUES (?, ?) ON CONFLICT (external_id)"
            " DO UPDATE SET opened_at = excluded.opened_at WHERE whatsapp_initiated.opened_at < ?",
            (external_id, at, at - TIER_WINDOW),
        )


class MetricsRepository(Repository):
    async def counts(self, now: datetime) -> MetricCounts:
        row = await self._db.fetchone(
            "SELECT (SELECT count(*) FROM audit_log WHERE action = 'link_failed') AS failures,"
            " (SELECT count(*) FROM link_attempts WHERE locked_until > ?) AS locked",
            (now,),
        )
        deliveries = await self._pairs("SELECT state, count(*) FROM deliveries GROUP BY state")
        return MetricCounts(row["failures"], row["locked"], deliveries)

    async def ping(self) -> None:
        await self._db.fetchone("SELECT 1")

