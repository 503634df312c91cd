"""Chats (with their conversation step and guide progress), failed verifications, and the audit log.

Also the row readers and the audit record that the other repositories share.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.core import Engine, Repository, Row, Statement, Unit, as_time, count, now_utc, one, rows, unit
from storage.models import (
    DEFAULT_CHAT_LOCALE,
    Account,
    AuditEntry,
    Chat,
    ChatSnapshot,
    Conversation,
    LinkLock,
    Progress,
)


def chat_of(r: Row) -> Chat:
    return Chat(
        id=r["id"], channel=r["channel"], external_id=r["external_id"], user_id=r["user_id"], locale=r["locale"],
        account_id=r["account_id"], opted_out=bool(r["opted_out"]), blocked=bool(r["blocked"]),
        video_watched_at=as_time(r["video_watched_at"]), platforms_compared_at=as_time(r["platforms_compared_at"]),
        training_chosen_at=as_time(r["training_chosen_at"]), training_bought_at=as_time(r["training_bought_at"]),
        first_seen=as_time(r["first_seen"]), last_seen=as_time(r["last_seen"]),
    )


def account_of(r: Row, prefix: str = "") -> Account:
    return Account(r[f"{prefix}id"], r[f"{prefix}phone"], r[f"{prefix}name"], r[f"{prefix}card_number"],
                   r[f"{prefix}balance"], as_time(r[f"{prefix}balance_at"]))


def audit_entry_of(r: Row) -> AuditEntry:
    return AuditEntry(r["id"], as_time(r["at"]), r["actor"], r["role"], r["action"], r["subject"], r["detail"])


# The columns of `Account`, in its field order (for one JSON array in a subquery, or a join as a_*).
ACCOUNT_FIELDS = ("id", "phone", "name", "card_number", "balance", "balance_at")
ACCOUNT_COLUMNS = ", ".join(f"a.{c} AS a_{c}" for c in ACCOUNT_FIELDS)
# The account as its own applicant sees it (the chat's snapshot, linking): the card and balance come with the result,
# so they stay hidden (NULL) until a Lolos result of the account is published, whatever the import already holds.
ANNOUNCED_LOLOS = ("EXISTS (SELECT 1 FROM wave_results r JOIN waves w ON w.number = r.wave WHERE r.account_id = a.id"
                   " AND r.result = 'lolos' AND w.published_at IS NOT NULL)")
APPLICANT_ACCOUNT = tuple(f"CASE WHEN {ANNOUNCED_LOLOS} THEN a.{c} END" if c in ("card_number", "balance", "balance_at")
                          else f"a.{c}" for c in ACCOUNT_FIELDS)  # in ACCOUNT_FIELDS' order
CHATS_OF_ACCOUNT = "SELECT * FROM chats WHERE account_id = ? ORDER BY channel"
AUDIT_INSERT = "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)"


def audit(actor: str, role: str, action: str, subject: str | None, detail: str | None = None,
          now: datetime | None = None) -> Statement:
    """The audit record of a change, for the unit of work that makes the change."""
    return count(AUDIT_INSERT, (now or now_utc(), actor, role, action, subject, detail))


def _snapshot_sql(db: Engine) -> str:
    d = db.dialect
    return (
        "INSERT INTO chats (channel, external_id, user_id, locale, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel, external_id) DO UPDATE SET last_seen = excluded.last_seen,"
        " user_id = coalesce(excluded.user_id, chats.user_id),"
        " blocked = false"  # the user writes again: they can receive messages again (outbox 403 set it)
        " RETURNING *,"
        f" (SELECT {d.json_array}(cv.step, cv.payload) FROM conversations cv WHERE cv.chat_id = chats.id) AS cv,"
        f" (SELECT {d.json_array}({', '.join(APPLICANT_ACCOUNT)}) FROM accounts a"
        "  WHERE a.id = chats.account_id) AS account,"
        " (SELECT g.role FROM granted_roles g WHERE g.channel = chats.channel AND g.user_id = ?) AS granted_role,"
        f" (SELECT {d.json_array}(la.failures, la.locked_until) FROM link_attempts la"
        "  WHERE la.key = 'chat:' || chats.id) AS attempts,"
        f" {d.data_version} AS data_version"  # see Engine.data_version
    )


class ChatRepository(Repository):
    def __init__(self, db: Engine) -> None:
        super().__init__(db)
        self._snapshot = _snapshot_sql(db)

    async def snapshot(
        self, channel: str, external_id: str, user_id: str | None, locale: str = DEFAULT_CHAT_LOCALE
    ) -> ChatSnapshot:
        """Register the chat (or touch its last_seen) and read it with its conversation and account: one statement
        (the upsert RETURNs the chat with its conversation, account, granted role and failed verifications from
        subqueries)."""
        now = now_utc()
        row = await self._db.fetchone(self._snapshot, (channel, external_id, user_id, locale, now, now, user_id))
        if row["data_version"] is not None:
            self._db.data_version = row["data_version"]
        conversation = Conversation(*json.loads(row["cv"])) if row["cv"] else None
        account = None
        if row["account"]:
            account = account_of(dict(zip(ACCOUNT_FIELDS, json.loads(row["account"]), strict=True)))
        attempts = None
        if row["attempts"]:
            failures, locked_until = json.loads(row["attempts"])
            attempts = LinkLock(failures, as_time(locked_until))
        return ChatSnapshot(chat_of(row), conversation, account, row["granted_role"], attempts)

    async def get(self, chat_id: int) -> Chat | None:
        return await self._one(chat_of, "SELECT * FROM chats WHERE id = ?", (chat_id,))

    async def find(self, channel: str, external_id: str) -> Chat | None:
        return await self._one(chat_of, "SELECT * FROM chats WHERE channel = ? AND external_id = ?",
                               (channel, external_id))

    async def for_account(self, account_id: int) -> list[Chat]:
        return await self._all(chat_of, CHATS_OF_ACCOUNT, (account_id,))

    async def set_conversation(self, chat_id: int, step: str, payload: str) -> None:
        await self._db.execute("INSERT INTO conversations (chat_id, step, payload, updated_at) VALUES (?, ?, ?, ?)"
                               " ON CONFLICT (chat_id) DO UPDATE SET step = excluded.step, payload = excluded.payload,"
                               " updated_at = excluded.updated_at",
                               (chat_id, step, payload, now_utc()))

    async def clear_conversation(self, chat_id: int) -> None:
        await self._db.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))

    async def set_locale(self, chat_id: int, locale: str) -> None:
        await self._db.execute("UPDATE chats SET locale = ? WHERE id = ?", (locale, chat_id))

    async def set_opted_out(self, chat_id: int, opted_out: bool) -> None:
        await self._db.execute("UPDATE chats SET opted_out = ? WHERE id = ?", (opted_out, chat_id))

    async def mark_progress(self, chat_id: int, step: Progress) -> None:
        """Record the first time a guide step was done (later repeats keep the first time)."""
        column = Progress(step).value  # an enum value, never user input
        await self._db.execute(f"UPDATE chats SET {column} = coalesce({column}, ?) WHERE id = ?", (now_utc(), chat_id))

    @unit
    def link(self, chat_id: int, account_id: int, actor: str) -> Unit[Chat | None]:
        """Link the chat to the account; return the chat of the same channel that held the link before, if any."""
        d, now = self._d, now_utc()
        if d.row_locks:  # the account's row lock orders two chats (two processes) linking the same account at once
            yield one(f"SELECT 1 FROM accounts WHERE id = ?{d.lock()}", (account_id,))
        previous = yield one("SELECT p.* FROM chats p JOIN chats me ON me.id = ? AND p.channel = me.channel"
                             f" WHERE p.account_id = ? AND p.id <> me.id{d.lock('p')}",
                             (chat_id, account_id))
        if previous is not None:
            yield count("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (previous["id"],))
            yield audit(actor, "applicant", "link_moved", f"chat:{previous['id']}", f"to chat:{chat_id}", now)
        yield count("UPDATE chats SET account_id = ?, linked_at = ? WHERE id = ?", (account_id, now, chat_id))
        yield count("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
        yield audit(actor, "applicant", "link", f"account:{account_id}", f"chat:{chat_id}", now)
        return chat_of(previous) if previous is not None else None

    @unit
    def unlink(self, chat_id: int, actor: str, role: str = "applicant", reason: str | None = None) -> Unit[int | None]:
        """Unlink the chat; return the account id it was linked to (None if it was not linked)."""
        row = yield one(f"SELECT account_id FROM chats WHERE id = ?{self._d.lock()}", (chat_id,))
        if row is None or row["account_id"] is None:
            return None
        yield count("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (chat_id,))
        yield count("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
        yield audit(actor, role, "unlink", f"account:{row['account_id']}", reason or f"chat:{chat_id}")
        return int(row["account_id"])


class LinkAttemptRepository(Repository):
    async def state(self, keys: Sequence[str], now: datetime) -> LinkLock:
        if not keys:
            return LinkLock(0, None)
        where, params = self._d.isin("key", keys)
        return _combine(await self._db.fetchall(f"SELECT failures, locked_until FROM link_attempts WHERE {where}",
                                                params), now)

    @unit
    def record_failure(
        self, keys: Sequence[str], now: datetime, max_failures: int, lock_for: timedelta
    ) -> Unit[LinkLock]:
        """Count one failure on every key; a key reaching `max_failures` is locked for `lock_for`."""
        for key in dict.fromkeys(keys):
            # A lock that has expired starts the count again; a running lock stays as it is.
            yield count(
                "INSERT INTO link_attempts (key, failures, locked_until, last_failure_at) VALUES (?, 1, NULL, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN link_attempts.locked_until <= ? THEN 1 ELSE link_attempts.failures + 1 END,"
                " locked_until = CASE WHEN link_attempts.locked_until <= ? THEN NULL"
                "  ELSE link_attempts.locked_until END,"
                " last_failure_at = excluded.last_failure_at",
                (key, now, now, now),
            )
            yield count("UPDATE link_attempts SET locked_until = ? WHERE key = ? AND failures >= ?"
                        " AND locked_until IS NULL", (now + lock_for, key, max_failures))
        where, params = self._d.isin("key", keys)
        return _combine((yield rows(f"SELECT failures, locked_until FROM link_attempts WHERE {where}", params)), now)

    async def clear(self, keys: Sequence[str]) -> None:
        where, params = self._d.isin("key", keys)
        await self._db.execute(f"DELETE FROM link_attempts WHERE {where}", params)


CODE_WINDOW = timedelta(hours=1)  # verification codes are limited per rolling hour (issue 14.5)


class LinkCodeRepository(Repository):
    @unit
    def request(self, chat_id: int, phone: str, now: datetime, per_chat: int, per_number: int,
                per_hour: int) -> Unit[datetime | None]:
        """A chat asks for a code to `phone`: record it and return None, unless this chat, this number or all chats
        together asked for as many in the last hour. Then nothing is recorded, and the time returned is when the
        request that fills the limit leaves the hour (the latest such time, when several limits are reached)."""
        since = now - CODE_WINDOW
        lock = self._d.lock_name("link_codes")  # PostgreSQL: two processes do not both take the last place
        if lock is not None:
            yield lock
        yield count("DELETE FROM link_codes WHERE sent_at <= ?", (since,))  # the table holds one hour
        retry: datetime | None = None
        for where, key, limit in (("chat_id = ?", (chat_id,), per_chat), ("phone = ?", (phone,), per_number),
                                  ("true", (), per_hour)):
            # The limit-th most recent request in the hour: with one, the limit is reached until it is an hour old.
            row = yield one(f"SELECT sent_at FROM link_codes WHERE {where} AND sent_at > ?"
                            " ORDER BY sent_at DESC LIMIT 1 OFFSET ?", (*key, since, limit - 1))
            if row is not None:
                free = as_time(row["sent_at"]) + CODE_WINDOW
                retry = free if retry is None else max(retry, free)
        if retry is None:
            yield count("INSERT INTO link_codes (chat_id, phone, sent_at) VALUES (?, ?, ?)", (chat_id, phone, now))
        return retry


def _combine(found: Sequence[Row], now: datetime) -> LinkLock:
    failures = 0
    locked_until: datetime | None = None
    for r in found:
        until = as_time(r["locked_until"])
        if until is not None and until <= now:
            continue  # expired lock: counts for nothing
        failures = max(failures, r["failures"])
        if until is not None and (locked_until is None or until > locked_until):
            locked_until = until
    return LinkLock(failures, locked_until)


class AuditRepository(Repository):
    async def record(self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None) -> None:
        await self._db.execute(AUDIT_INSERT, (now_utc(), actor, role, action, subject, detail))

    async def for_subject(self, subject: str, limit: int = 50) -> list[AuditEntry]:
        return await self._all(audit_entry_of, "SELECT * FROM audit_log WHERE subject = ? ORDER BY id DESC LIMIT ?",
                               (subject, limit))

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        return await self._all(audit_entry_of, "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
