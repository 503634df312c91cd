"""Repositories for staff work: granted roles, support look-ups of one person's whole state, wave summaries,
and reading the audit log (admins filter it; applicants see when their record was looked at, and by which role).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.core import Repository, Row, Unit, as_time, count, now_utc, one, unit
from storage.models import Account, AuditEntry, Chat, Grant, LinkLock, WaveSummary
from storage.repositories.chats import AUDIT_INSERT, CHATS_OF_ACCOUNT, account_of, audit, audit_entry_of, chat_of
from storage.repositories.registry import wave_of

STAFF_ROLES = ("support", "admin")

# Chats by external id alone, without scanning the table: the channels present are found by a loose index scan
# (each next channel is one index seek), then each (channel, external_id) is one more.
_CHATS_BY_EXTERNAL_ID = (
    "WITH RECURSIVE channels(name) AS (SELECT min(channel) FROM chats UNION ALL"
    " SELECT (SELECT min(channel) FROM chats WHERE channel > channels.name) FROM channels WHERE name IS NOT NULL)"
    " SELECT * FROM chats WHERE channel IN (SELECT name FROM channels) AND external_id = ? ORDER BY id"
)


def _grant(r: Row) -> Grant:
    return Grant(r["channel"], r["user_id"], r["role"], r["granted_by"], as_time(r["granted_at"]),
                 bool(r["menu_synced"]))


class RoleRepository(Repository):
    @unit
    def set(self, channel: str, user_id: str, role: str, actor: str, reason: str | None = None) -> Unit[str | None]:
        """Grant `role` ('support', 'admin') or revoke ('applicant'); return the role granted before, if any."""
        now = now_utc()
        before = yield one(f"SELECT role FROM granted_roles WHERE channel = ? AND user_id = ?{self._d.lock()}",
                           (channel, user_id))
        yield count("INSERT INTO granted_roles (channel, user_id, role, granted_by, granted_at, menu_synced)"
                    " VALUES (?, ?, ?, ?, ?, false) ON CONFLICT (channel, user_id) DO UPDATE SET role = excluded.role,"
                    " granted_by = excluded.granted_by, granted_at = excluded.granted_at, menu_synced = false",
                    (channel, user_id, role, actor, now))
        action = "role_revoke" if role == "applicant" else "role_grant"
        yield audit(actor, "admin", action, f"user:{channel}:{user_id}", reason or role, now)
        previous = before["role"] if before else None
        return previous if previous in STAFF_ROLES else None

    async def granted(self) -> list[Grant]:
        return await self._all(_grant, "SELECT * FROM granted_roles WHERE role <> 'applicant'"
                               " ORDER BY channel, user_id")

    async def unsynced(self) -> list[Grant]:
        return await self._all(_grant, "SELECT * FROM granted_roles WHERE menu_synced = false")

    @unit
    def mark_synced(self, grant: Grant) -> Unit[None]:
        """The menu matches `grant`; a revoked grant whose menu is reset is forgotten."""
        yield count("UPDATE granted_roles SET menu_synced = true WHERE channel = ? AND user_id = ? AND role = ?",
                    (grant.channel, grant.user_id, grant.role))
        yield count("DELETE FROM granted_roles WHERE role = 'applicant' AND menu_synced = true")


class StaffRepository(Repository):
    async def wave_summaries(self) -> list[WaveSummary]:
        return await self._all(
            lambda r: WaveSummary(wave_of(r), r["accounts"], r["lolos"], r["tidak_lolos"], r["linked"]),
            "SELECT w.*, count(r.account_id) AS accounts, count(CASE WHEN r.result = 'lolos' THEN 1 END) AS lolos,"
            " count(CASE WHEN r.result = 'tidak_lolos' THEN 1 END) AS tidak_lolos,"
            " (SELECT count(*) FROM wave_results r2 JOIN chats ch ON ch.account_id = r2.account_id"
            "  WHERE r2.wave = w.number) AS linked"
            " FROM waves w LEFT JOIN wave_results r ON r.wave = w.number GROUP BY w.number ORDER BY w.number",
        )

    async def find_accounts(
        self, *, phone: str | None = None, card: str | None = None, nik_hash: bytes | None = None
    ) -> list[Account]:
        given = [(column, v) for column, v in (("phone", phone), ("card_number", card), ("nik_hash", nik_hash)) if v]
        if not given:
            return []
        terms = " OR ".join(f"{column} = ?" for column, _ in given)
        return await self._all(account_of, f"SELECT * FROM accounts WHERE {terms} ORDER BY id LIMIT 20",
                               [v for _, v in given])

    async def find_chats(self, external_id: str, channel: str | None = None) -> list[Chat]:
        if channel:
            return await self._all(chat_of, "SELECT * FROM chats WHERE channel = ? AND external_id = ?",
                                   (channel, external_id))
        # Any channel: the (channel, external_id) index, once per channel (found by skipping through it).
        return await self._all(chat_of, _CHATS_BY_EXTERNAL_ID, (external_id,))

    async def chats_of(self, account_id: int) -> list[Chat]:
        return await self._all(chat_of, CHATS_OF_ACCOUNT, (account_id,))

    async def locks(self, keys: Sequence[str]) -> list[tuple[str, LinkLock]]:
        """Failed-attempt counters of these keys ('phone:...', 'chat:<id>'), as stored (expired locks included)."""
        if not keys:
            return []
        where, params = self._d.isin("key", keys)
        return await self._all(lambda r: (r["key"], LinkLock(r["failures"], as_time(r["locked_until"]))),
                               f"SELECT key, failures, locked_until FROM link_attempts WHERE {where} ORDER BY key",
                               params)

    async def chats_failing_with(self, phone: str) -> list[int]:
        """Chats whose last failed link attempt was on this phone number (a failure stamps the chat's key and the
        phone's key in one transaction, with the same time): the chat a locked-out applicant used."""
        found = await self._db.fetchall(
            "SELECT substr(c.key, 6) AS chat_id FROM link_attempts p JOIN link_attempts c"
            " ON c.key LIKE 'chat:%' AND c.last_failure_at = p.last_failure_at WHERE p.key = ?",
            (f"phone:{phone}",),
        )
        return [int(r["chat_id"]) for r in found if str(r["chat_id"]).isdigit()]

    @unit
    def clear_locks(self, keys: Sequence[str], actor: str, role: str, subject: str, reason: str) -> Unit[int]:
        """Clear lock-outs and failure counts; audited in the same transaction. How many keys had any."""
        cleared = 0
        if keys:
            where, params = self._d.isin("key", keys)
            cleared = yield count(f"DELETE FROM link_attempts WHERE {where}", params)
        yield audit(actor, role, "unlock", subject, reason)
        return max(cleared, 0)

    async def audit(
        self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None
    ) -> int:
        """Record an entry and return its id (a confirmation button refers to its request by this id)."""
        return int(await self._db.fetchval(f"{AUDIT_INSERT} RETURNING id",
                                           (now_utc(), actor, role, action, subject, detail)))

    async def audit_entry(self, entry_id: int) -> AuditEntry | None:
        return await self._one(audit_entry_of, "SELECT * FROM audit_log WHERE id = ?", (entry_id,))

    async def search_audit(self, term: str | None, limit: int) -> list[AuditEntry]:
        """Newest first; `term` matches an actor, an action or a subject exactly, or a subject's prefix."""
        if not term:
            return await self._all(audit_entry_of, "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        prefix = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
        return await self._all(
            audit_entry_of,
            "SELECT * FROM audit_log WHERE actor = ? OR action = ? OR subject = ? OR subject LIKE ? ESCAPE '\\'"
            " ORDER BY id DESC LIMIT ?",
            (term, term, term, prefix, limit),
        )

    async def staff_access(self, subjects: Sequence[str], limit: int) -> list[AuditEntry]:
        """Staff look-ups and actions on these subjects (an applicant's account and chats), newest first."""
        if not subjects:
            return []
        where, params = self._d.isin("subject", subjects)
        return await self._all(audit_entry_of, f"SELECT * FROM audit_log WHERE {where} AND role IN ('support', 'admin')"
                               " ORDER BY id DESC LIMIT ?", (*params, limit))
