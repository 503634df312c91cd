"""Repositories of the web server: webhook ids seen (redelivery), WhatsApp chat state, statuses, metrics."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.sqlite.database import Database, from_db_time, to_db_time

WEBHOOK_SEEN_KEEP = timedelta(days=7)  # Meta retries a webhook for up to 7 days; Telegram keeps updates 24 h
STATUS_KEEP = timedelta(days=30)
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}  # a late "delivered" does not undo "read"


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A WhatsApp status callback to keep: the furthest status of one message we sent."""

    message_id: str
    recipient: str
    status: str  # sent | delivered | read | failed | (others Meta may add)
    error_code: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class TierState:
    """The messaging-limit tier for a business-initiated message to one user."""

    allowed: bool  # the user is already counted, or there is room in the tier
    counted: int  # unique users of the rolling 24 hours
    free_at: datetime | None  # when held: the time a place in the tier frees up


STATUS_ROWS_PER_STATEMENT = 500  # 5 parameters a row, far below SQLite's 32,766 (and PostgreSQL's 32,767)


def furthest(records: Sequence[StatusRecord]) -> list[StatusRecord]:
    """One record per message: the first with the highest rank, as applying them in order would keep (a status
    replaces the stored one only when it ranks higher). One statement then never touches a row twice."""
    best: dict[str, StatusRecord] = {}
    for record in records:
        kept = best.get(record.message_id)
        if kept is None or STATUS_RANK.get(record.status, 0) > STATUS_RANK.get(kept.status, 0):
            best[record.message_id] = record
    return list(best.values())


def _chunks(rows: list[StatusRecord], size: int) -> list[list[StatusRecord]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def rank_sql(column: str) -> str:
    """STATUS_RANK in SQL, of a status column (the same text for SQLite and PostgreSQL)."""
    return f"(CASE {column} {' '.join(f'WHEN {s!r} THEN {n}' for s, n in STATUS_RANK.items())} ELSE 0 END)"


def _upsert_statuses(count: int) -> str:
    return ("INSERT INTO whatsapp_statuses (message_id, recipient, status, error_code, updated_at) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?)"] * count)
            + " ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, error_code = excluded.error_code,"
            f" updated_at = excluded.updated_at WHERE {rank_sql('whatsapp_statuses.status')}"
            f" < {rank_sql('excluded.status')}")


def _status_params(rows: list[StatusRecord]) -> list[object]:
    return [value for r in rows for value in (r.message_id, r.recipient, r.status, r.error_code, to_db_time(r.at))]


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_seen(self, source: str, update_id: str, now: datetime) -> bool:
        """Record the id; True the first time, False for a redelivery."""
        changed = await self._db.execute(
            "INSERT OR IGNORE INTO webhook_seen (source, id, seen_at) VALUES (?, ?, ?)",
            (source, update_id, to_db_time(now)),
        )
        return changed > 0

    async def prune(self, now: datetime) -> int:
        """Forget old ids, old statuses and closed tier entries; return how many rows went."""
        removed = 0
        async with self._db.transaction() as tx:
            removed += await tx.execute("DELETE FROM webhook_seen WHERE seen_at < ?",
                                        (to_db_time(now - WEBHOOK_SEEN_KEEP),))
            removed += await tx.execute("DELETE FROM whatsapp_statuses WHERE updated_at < ?",
                                        (to_db_time(now - STATUS_KEEP),))
            removed += await tx.execute("DELETE FROM whatsapp_initiated WHERE opened_at < ?",
                                        (to_db_time(now - timedelta(hours=24)),))
        return removed


def _receive(connection: sqlite3.Connection, message_id: str, external_id: str, bsuid: str | None,
             stamp: str) -> bool:
    """On the database thread (WhatsAppRepository.receive): the id seen, then the chat's window opened."""
    new = connection.execute("INSERT OR IGNORE INTO webhook_seen (source, id, seen_at) VALUES ('whatsapp', ?, ?)",
                             (message_id, stamp)).rowcount
    if not new:
        return False
    connection.execute(
        "INSERT INTO whatsapp_chats (external_id, bsuid, last_inbound_at) VALUES (?, ?, ?)"
        " ON CONFLICT (external_id) DO UPDATE SET bsuid = coalesce(excluded.bsuid, bsuid),"
        " last_inbound_at = max(coalesce(last_inbound_at, ''), excluded.last_inbound_at)",
        (external_id, bsuid, stamp),
    )
    return True


class WhatsAppRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def receive(self, message_id: str, external_id: str, bsuid: str | None, at: datetime) -> bool:
        """An inbound message: mark its id seen and open the chat's 24-hour window, all or nothing.

        False when the id was seen before (a redelivery): nothing is changed then. One unit of work on the
        database thread (`Database.atomic`): one round trip, and no lock held across awaits, so other chats'
        statements do not wait behind it.
        """
        return await self._db.atomic(_receive, message_id, external_id, bsuid, to_db_time(at))

    async def last_inbound(self, external_ids: Sequence[str]) -> dict[str, datetime]:
        """The last inbound message time of each chat that has one."""
        if not external_ids:
            return {}
        marks = ",".join("?" * len(external_ids))
        rows = await self._db.fetchall(
            f"SELECT external_id, last_inbound_at FROM whatsapp_chats WHERE external_id IN ({marks})"
            " AND last_inbound_at IS NOT NULL",
            tuple(external_ids),
        )
        return {r["external_id"]: from_db_time(r["last_inbound_at"]) for r in rows}  # type: ignore[misc]

    async def reply_state(self, external_id: str) -> tuple[str, str | None]:
        """(locale, stored choices JSON) of a WhatsApp chat: what rendering and typed numbers need."""
        row = await self._db.fetchone(
            "SELECT coalesce(c.locale, 'id') AS locale, w.choices FROM (SELECT ? AS external_id) k"
            " LEFT JOIN chats c ON c.channel = 'whatsapp' AND c.external_id = k.external_id"
            " LEFT JOIN whatsapp_chats w ON w.external_id = k.external_id",
            (external_id,),
        )
        assert row is not None
        return row["locale"], row["choices"]

    async def set_choices(self, external_id: str, choices: str | None, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO whatsapp_chats (external_id, choices, choices_at) VALUES (?, ?, ?)"
            " ON CONFLICT (external_id) DO UPDATE SET choices = excluded.choices, choices_at = excluded.choices_at",
            (external_id, choices, to_db_time(now)),
        )

    async def record_statuses(self, records: Sequence[StatusRecord]) -> None:
        """Keep the furthest status of each message (callbacks may come out of order); a failure found after the
        send also fails the outbox delivery that carried the message. The web server writes the callbacks that
        came in meanwhile together (three arrive for every message sent): one statement for a batch, and a
        transaction only when a failure also touches the outbox."""
        rows = furthest(records)
        if not rows:
            return
        failed = [(f"WhatsApp error {r.error_code} after sending", r.message_id) for r in rows if r.status == "failed"]
        if not failed:
            for chunk in _chunks(rows, STATUS_ROWS_PER_STATEMENT):
                await self._db.execute(_upsert_statuses(len(chunk)), _status_params(chunk))
            return
        async with self._db.transaction() as tx:
            for chunk in _chunks(rows, STATUS_ROWS_PER_STATEMENT):
                await tx.execute(_upsert_statuses(len(chunk)), _status_params(chunk))
            await tx.executemany(
                "UPDATE deliveries SET state = 'failed', error = ? WHERE message_id = ? AND channel = 'whatsapp'"
                " AND state = 'sent'",
                failed,
            )

    async def delivery_statuses(self, broadcast_id: int) -> dict[str, int]:
        """For /siaran_status: the broadcast's WhatsApp deliveries by their last status (sent, delivered, read,
        failed); 'unknown' when no callback came yet."""
        rows = await self._db.fetchall(
            "SELECT coalesce(s.status, 'unknown') AS status, count(*) AS n FROM deliveries d"
            " LEFT JOIN whatsapp_statuses s ON s.message_id = d.message_id"
            " WHERE d.broadcast_id = ? AND d.channel = 'whatsapp' AND d.message_id IS NOT NULL GROUP BY 1",
            (broadcast_id,),
        )
        return {r["status"]: r["n"] for r in rows}

    async def statuses(self, message_ids: Sequence[str]) -> dict[str, str]:
        if not message_ids:
            return {}
        marks = ",".join("?" * len(message_ids))
        rows = await self._db.fetchall(
            f"SELECT message_id, status FROM whatsapp_statuses WHERE message_id IN ({marks})", tuple(message_ids)
        )
        return {r["message_id"]: r["status"] for r in rows}

    async def status_counts(self) -> dict[str, int]:
        rows = await self._db.fetchall("SELECT status, count(*) AS n FROM whatsapp_statuses GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def tier_state(self, external_id: str, now: datetime, tier: int | None) -> TierState:
        """May a business-initiated message go to this user now, under a tier of `tier` users per 24 h?"""
        since = to_db_time(now - timedelta(hours=24))
        rows = await self._db.fetchall(
            "SELECT external_id, opened_at FROM whatsapp_initiated WHERE opened_at >= ? ORDER BY opened_at",
            (since,),
        )
        if tier is None or any(r["external_id"] == external_id for r in rows) or len(rows) < tier:
            return TierState(True, len(rows), None)
        # Held until enough of the oldest conversations leave the 24-hour window to make room for one more.
        oldest = from_db_time(rows[len(rows) - tier]["opened_at"])
        assert oldest is not None
        return TierState(False, len(rows), oldest + timedelta(hours=24))

    async def initiated(self, external_id: str, at: datetime) -> None:
        """Count a business-initiated conversation with this user (a new one once the old one is over 24 h)."""
        stamp = to_db_time(at)
        await self._db.execute(
            "INSERT INTO whatsapp_initiated (external_id, opened_at) VALUES (?, ?) ON CONFLICT (external_id)"
            " DO UPDATE SET opened_at = excluded.opened_at WHERE opened_at < ?",
            (external_id, stamp, to_db_time(at - timedelta(hours=24))),
        )


@dataclass(frozen=True, slots=True)
class MetricCounts:
    link_failures: int
    active_lockouts: int
    deliveries: dict[str, int]  # outbox deliveries by state (empty when there is no outbox)


class MetricsRepository:
    """Counts read at scrape time: they survive restarts and need no hook in the handlers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def counts(self, now: datetime) -> MetricCounts:
        row = await self._db.fetchone(
            "SELECT (SELECT count(*) FROM audit_log WHERE action = 'link_failed') AS failures,"
            " (SELECT count(*) FROM link_attempts WHERE locked_until > ?) AS locked,"
            " (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deliveries') AS has_outbox",
            (to_db_time(now),),
        )
        assert row is not None
        deliveries: dict[str, int] = {}
        if row["has_outbox"]:
            rows = await self._db.fetchall("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
            deliveries = {r["state"]: r["n"] for r in rows}
        return MetricCounts(row["failures"], row["locked"], deliveries)

    async def ping(self) -> None:
        await self._db.fetchone("SELECT 1")
