"""Staff repositories on PostgreSQL: granted roles, support look-ups, wave summaries, the audit log.

Mirrors storage/sqlite/staff.py (same methods, same meaning).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from storage.models import Account, AuditEntry, Chat, Grant, LinkLock, WaveSummary
from storage.postgres.database import Database
from storage.postgres.repositories import AUDIT_INSERT, account_row, audit, audit_row, chat_row, wave_row
from storage.sqlite.database import now_utc
from storage.sqlite.staff import STAFF_ROLES


def _grant(r: asyncpg.Record) -> Grant:
    return Grant(r["channel"], r["user_id"], r["role"], r["granted_by"], r["granted_at"], r["menu_synced"])


class RoleRepository:
    """Roles granted with /peran. A revoked grant is kept as 'applicant' until its command menu is reset."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(self, channel: str, user_id: str, role: str, actor: str, reason: str | None = None) -> str | None:
        """Grant `role` ('support', 'admin') or revoke ('applicant'); return the role granted before, if any."""
        async with self._db.transaction() as tx:
            before = await tx.fetchone(
                "SELECT role FROM granted_roles WHERE channel = $1 AND user_id = $2 FOR UPDATE", (channel, user_id)
            )
            await tx.execute(
                "INSERT INTO granted_roles (channel, user_id, role, granted_by, granted_at, menu_synced)"
                " VALUES ($1, $2, $3, $4, $5, false) ON CONFLICT (channel, user_id) DO UPDATE SET"
                " role = excluded.role, granted_by = excluded.granted_by, granted_at = excluded.granted_at,"
                " menu_synced = false",
                (channel, user_id, role, actor, now_utc()),
            )
            action = "role_revoke" if role == "applicant" else "role_grant"
            await audit(tx, actor, "admin", action, f"user:{channel}:{user_id}", reason or role)
        previous = before["role"] if before else None
        return previous if previous in STAFF_ROLES else None

    async def granted(self) -> list[Grant]:
        rows = await self._db.fetchall(
            "SELECT * FROM granted_roles WHERE role <> 'applicant' ORDER BY channel, user_id"
        )
        return [_grant(r) for r in rows]

    async def unsynced(self) -> list[Grant]:
        return [_grant(r) for r in await self._db.fetchall("SELECT * FROM granted_roles WHERE NOT menu_synced")]

    async def mark_synced(self, grant: Grant) -> None:
        """The menu matches `grant`; a revoked grant whose menu is reset is forgotten."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE granted_roles SET menu_synced = true WHERE channel = $1 AND user_id = $2 AND role = $3",
                (grant.channel, grant.user_id, grant.role),
            )
            await tx.execute("DELETE FROM granted_roles WHERE role = 'applicant' AND menu_synced")


class StaffRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def wave_summaries(self) -> list[WaveSummary]:
        rows = await self._db.fetchall(
            "SELECT w.*, count(r.account_id) AS accounts, count(*) FILTER (WHERE r.result = 'lolos') AS lolos,"
            " count(*) FILTER (WHERE r.result = 'tidak_lolos') AS tidak_lolos,"
            " (SELECT count(*) FROM wave_results r2 JOIN chats ch ON ch.account_id = r2.account_id"
            "  WHERE r2.wave = w.number) AS linked"
            " FROM waves w LEFT JOIN wave_results r ON r.wave = w.number GROUP BY w.number ORDER BY w.number"
        )
        return [WaveSummary(wave_row(r), r["accounts"], r["lolos"], r["tidak_lolos"], r["linked"]) for r in rows]

    async def find_accounts(
        self, *, phone: str | None = None, card: str | None = None, nik_hash: str | None = None
    ) -> list[Account]:
        terms, params = [], []
        for column, value in (("phone", phone), ("card_number", card), ("nik_hash", nik_hash)):
            if value:
                params.append(value)
                terms.append(f"{column} = ${len(params)}")
        if not terms:
            return []
        rows = await self._db.fetchall(
            f"SELECT * FROM accounts WHERE {' OR '.join(terms)} ORDER BY id LIMIT 20", params
        )
        return [account_row(r) for r in rows]

    async def find_chats(self, external_id: str, channel: str | None = None) -> list[Chat]:
        if channel:
            rows = await self._db.fetchall(
                "SELECT * FROM chats WHERE channel = $1 AND external_id = $2", (channel, external_id)
            )
        else:
            rows = await self._db.fetchall("SELECT * FROM chats WHERE external_id = $1 ORDER BY id", (external_id,))
        return [chat_row(r) for r in rows]

    async def chats_of(self, account_id: int) -> list[Chat]:
        rows = await self._db.fetchall("SELECT * FROM chats WHERE account_id = $1 ORDER BY channel", (account_id,))
        return [chat_row(r) for r in rows]

    async def locks(self, keys: Sequence[str]) -> list[tuple[str, LinkLock]]:
        """Failed-attempt counters of these keys ('phone:...', 'chat:<id>'), as stored (expired locks included)."""
        if not keys:
            return []
        rows = await self._db.fetchall(
            "SELECT key, failures, locked_until FROM link_attempts WHERE key = ANY($1::text[]) ORDER BY key",
            (list(keys),),
        )
        return [(r["key"], LinkLock(r["failures"], r["locked_until"])) for r in rows]

    async def chats_failing_with(self, phone: str) -> list[int]:
        """Chats whose last failed link attempt was on this phone number (a failure stamps the chat's key and the
        phone's key in one statement, with the same time): the chat a locked-out applicant used."""
        rows = await self._db.fetchall(
            "SELECT substr(c.key, 6) AS chat_id FROM link_attempts p JOIN link_attempts c"
            " ON c.key LIKE 'chat:%' AND c.last_failure_at = p.last_failure_at WHERE p.key = $1",
            (f"phone:{phone}",),
        )
        return [int(r["chat_id"]) for r in rows if str(r["chat_id"]).isdigit()]

    async def clear_locks(self, keys: Sequence[str], actor: str, role: str, subject: str, reason: str) -> int:
        """Clear lock-outs and failure counts; audited in the same transaction. How many keys had any."""
        async with self._db.transaction() as tx:
            cleared = await tx.execute("DELETE FROM link_attempts WHERE key = ANY($1::text[])", (list(keys),))
            await audit(tx, actor, role, "unlock", subject, reason)
        return cleared

    async def audit(
        self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None
    ) -> int:
        """Record an entry and return its id (a confirmation button refers to its request by this id)."""
        return int(await self._db.fetchval(
            f"{AUDIT_INSERT} RETURNING id", (now_utc(), actor, role, action, subject, detail)
        ))

    async def audit_entry(self, entry_id: int) -> AuditEntry | None:
        row = await self._db.fetchone("SELECT * FROM audit_log WHERE id = $1", (entry_id,))
        return audit_row(row) if row else None

    async def search_audit(self, term: str | None, limit: int) -> list[AuditEntry]:
        """Newest first; `term` matches an actor, an action or a subject exactly, or a subject's prefix."""
        if not term:
            rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1", (limit,))
        else:
            prefix = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
            rows = await self._db.fetchall(
                "SELECT * FROM audit_log WHERE actor = $1 OR action = $1 OR subject = $1"
                " OR subject LIKE $2 ESCAPE '\\' ORDER BY id DESC LIMIT $3",
                (term, prefix, limit),
            )
        return [audit_row(r) for r in rows]

    async def staff_access(self, subjects: Sequence[str], limit: int) -> list[AuditEntry]:
        """Staff look-ups and actions on these subjects (an applicant's account and chats), newest first."""
        if not subjects:
            return []
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE subject = ANY($1::text[]) AND role IN ('support', 'admin')"
            " ORDER BY id DESC LIMIT $2",
            (list(subjects), limit),
        )
        return [audit_row(r) for r in rows]
