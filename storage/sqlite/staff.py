"""Repositories for staff work: granted roles, support look-ups of one person's whole state, wave summaries,
and reading the audit log (admins filter it; applicants see when their record was looked at, and by which role).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from storage.models import Account, AuditEntry, Chat, Grant, LinkLock, Wave, WaveSummary
from storage.sqlite.database import Database, from_db_time, now_utc, to_db_time
from storage.sqlite.repositories import _account, _audit, _audit_entry, _chat

STAFF_ROLES = ("support", "admin")


def _grant(r: sqlite3.Row) -> Grant:
    return Grant(r["channel"], r["user_id"], r["role"], r["granted_by"], from_db_time(r["granted_at"]),  # type: ignore[arg-type]
                 bool(r["menu_synced"]))


class RoleRepository:
    """Roles granted with /peran. A revoked grant is kept as 'applicant' until its command menu is reset."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, channel: str, user_id: str, role: str, actor: str, reason: str | None = None) -> str | None:
        """Grant `role` ('support', 'admin') or revoke ('applicant'); return the role granted before, if any."""
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            before = await tx.fetchone(
                "SELECT role FROM granted_roles WHERE channel = ? AND user_id = ?", (channel, user_id)
            )
            await tx.execute(
                "INSERT INTO granted_roles (channel, user_id, role, granted_by, granted_at, menu_synced)"
                " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (channel, user_id) DO UPDATE SET role = excluded.role,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at, menu_synced = 0",
                (channel, user_id, role, actor, now),
            )
            action = "role_revoke" if role == "applicant" else "role_grant"
            await _audit(tx, actor, "admin", action, f"user:{channel}:{user_id}", reason or role)
        previous = before["role"] if before else None
        return previous if previous in STAFF_ROLES else None

    async def granted(self) -> list[Grant]:
        rows = await self._db.fetchall(
            "SELECT * FROM granted_roles WHERE role != 'applicant' ORDER BY channel, user_id"
        )
        return [_grant(r) for r in rows]

    async def unsynced(self) -> list[Grant]:
        rows = await self._db.fetchall("SELECT * FROM granted_roles WHERE menu_synced = 0")
        return [_grant(r) for r in rows]

    async def mark_synced(self, grant: Grant) -> None:
        """The menu matches `grant`; a revoked grant whose menu is reset is forgotten."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE granted_roles SET menu_synced = 1 WHERE channel = ? AND user_id = ? AND role = ?",
                (grant.channel, grant.user_id, grant.role),
            )
            await tx.execute("DELETE FROM granted_roles WHERE role = 'applicant' AND menu_synced = 1")


class StaffRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def wave_summaries(self) -> list[WaveSummary]:
        rows = await self._db.fetchall(
            "SELECT w.*, count(r.account_id) AS accounts, coalesce(sum(r.result = 'lolos'), 0) AS lolos,"
            " coalesce(sum(r.result = 'tidak_lolos'), 0) AS tidak_lolos,"
            " (SELECT count(*) FROM wave_results r2 JOIN chats ch ON ch.account_id = r2.account_id"
            "  WHERE r2.wave = w.number) AS linked"
            " FROM waves w LEFT JOIN wave_results r ON r.wave = w.number GROUP BY w.number ORDER BY w.number"
        )
        return [
            WaveSummary(Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])),
                        r["accounts"], r["lolos"], r["tidak_lolos"], r["linked"])
            for r in rows
        ]

    async def find_accounts(
        self, *, phone: str | None = None, card: str | None = None, nik_hash: str | None = None
    ) -> list[Account]:
        terms, params = [], []
        for column, value in (("phone", phone), ("card_number", card), ("nik_hash", nik_hash)):
            if value:
                terms.append(f"{column} = ?")
                params.append(value)
        if not terms:
            return []
        rows = await self._db.fetchall(
            f"SELECT * FROM accounts WHERE {' OR '.join(terms)} ORDER BY id LIMIT 20", tuple(params)
        )
        return [_account(r) for r in rows]

    async def find_chats(self, external_id: str, channel: str | None = None) -> list[Chat]:
        if channel:
            rows = await self._db.fetchall(
                "SELECT * FROM chats WHERE channel = ? AND external_id = ?", (channel, external_id)
            )
        else:  # any channel: the (channel, external_id) index, once per channel (found by skipping through it)
            rows = await self._db.fetchall(_CHATS_BY_EXTERNAL_ID, (external_id,))
        return [_chat(r) for r in rows]

    async def chats_of(self, account_id: int) -> list[Chat]:
        rows = await self._db.fetchall("SELECT * FROM chats WHERE account_id = ? ORDER BY channel", (account_id,))
        return [_chat(r) for r in rows]

    async def locks(self, keys: Sequence[str]) -> list[tuple[str, LinkLock]]:
        """Failed-attempt counters of these keys ('phone:...', 'chat:<id>'), as stored (expired locks included)."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = await self._db.fetchall(
            f"SELECT key, failures, locked_until FROM link_attempts WHERE key IN ({marks}) ORDER BY key", tuple(keys)
        )
        return [(r["key"], LinkLock(r["failures"], from_db_time(r["locked_until"]))) for r in rows]

    async def chats_failing_with(self, phone: str) -> list[int]:
        """Chats whose last failed link attempt was on this phone number (a failure stamps the chat's key and the
        phone's key in one transaction, with the same time): the chat a locked-out applicant used."""
        rows = await self._db.fetchall(
            "SELECT substr(c.key, 6) AS chat_id FROM link_attempts p JOIN link_attempts c"
            " ON c.key LIKE 'chat:%' AND c.last_failure_at = p.last_failure_at WHERE p.key = ?",
            (f"phone:{phone}",),
        )
        return [int(r["chat_id"]) for r in rows if str(r["chat_id"]).isdigit()]

    async def clear_locks(self, keys: Sequence[str], actor: str, role: str, subject: str, reason: str) -> int:
        """Clear lock-outs and failure counts; audited in the same transaction. How many keys had any."""
        marks = ",".join("?" * len(keys))
        async with self._db.transaction() as tx:
            cleared = await tx.execute(f"DELETE FROM link_attempts WHERE key IN ({marks})", tuple(keys)) if keys else 0
            await _audit(tx, actor, role, "unlock", subject, reason)
        return max(cleared, 0)

    async def audit(
        self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None
    ) -> int:
        """Record an entry and return its id (a confirmation button refers to its request by this id)."""
        row = await self._db.fetchone(
            "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (to_db_time(now_utc()), actor, role, action, subject, detail),
        )
        assert row is not None
        return int(row["id"])

    async def audit_entry(self, entry_id: int) -> AuditEntry | None:
        row = await self._db.fetchone("SELECT * FROM audit_log WHERE id = ?", (entry_id,))
        return _audit_entry(row) if row else None

    async def search_audit(self, term: str | None, limit: int) -> list[AuditEntry]:
        """Newest first; `term` matches an actor, an action or a subject exactly, or a subject's prefix."""
        if not term:
            rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM audit_log WHERE actor = ? OR action = ? OR subject = ? OR subject LIKE ? ESCAPE '\\'"
                " ORDER BY id DESC LIMIT ?",
                (term, term, term, term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%", limit),
            )
        return [_audit_entry(r) for r in rows]

    async def staff_access(self, subjects: Sequence[str], limit: int) -> list[AuditEntry]:
        """Staff look-ups and actions on these subjects (an applicant's account and chats), newest first."""
        if not subjects:
            return []
        marks = ",".join("?" * len(subjects))
        rows = await self._db.fetchall(
            f"SELECT * FROM audit_log WHERE subject IN ({marks}) AND role IN ('support', 'admin')"
            " ORDER BY id DESC LIMIT ?",
            (*subjects, limit),
        )
        return [_audit_entry(r) for r in rows]


# Chats by external id alone, without scanning the table: the channels present are found by a loose index scan
# (each next channel is one index seek), then each (channel, external_id) is one more.
_CHATS_BY_EXTERNAL_ID = (
    "WITH RECURSIVE channels(name) AS (SELECT min(channel) FROM chats UNION ALL"
    " SELECT (SELECT min(channel) FROM chats WHERE channel > channels.name) FROM channels WHERE name IS NOT NULL)"
    " SELECT * FROM chats WHERE channel IN (SELECT name FROM channels) AND external_id = ? ORDER BY id"
)
