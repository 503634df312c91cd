"""The SQLite repositories: the only place, with the migrations, that holds SQL.

Each repository is a small class over the shared `Database`; `storage.Storage` groups them. Methods are
shaped after what a handler does in one step, so an update costs few round trips to the database thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.models import (
    Account,
    AuditEntry,
    Chat,
    ChatSnapshot,
    Conversation,
    ImportCounts,
    LinkLock,
    Platform,
    Training,
    Wave,
    WaveResult,
    WaveStanding,
)
from storage.sqlite.database import Database, Transaction, from_db_time, now_utc, to_db_time


class Progress(StrEnum):
    """Guide steps a chat can complete; each is a timestamp column of `chats`."""

    VIDEO_WATCHED = "video_watched_at"
    PLATFORMS_COMPARED = "platforms_compared_at"
    TRAINING_CHOSEN = "training_chosen_at"
    TRAINING_BOUGHT = "training_bought_at"


def _chat(row: sqlite3.Row) -> Chat:
    return Chat(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        user_id=row["user_id"],
        locale=row["locale"],
        account_id=row["account_id"],
        opted_out=bool(row["opted_out"]),
        blocked=bool(row["blocked"]),
        video_watched_at=from_db_time(row["video_watched_at"]),
        platforms_compared_at=from_db_time(row["platforms_compared_at"]),
        training_chosen_at=from_db_time(row["training_chosen_at"]),
        training_bought_at=from_db_time(row["training_bought_at"]),
        first_seen=from_db_time(row["first_seen"]),  # type: ignore[arg-type]
        last_seen=from_db_time(row["last_seen"]),  # type: ignore[arg-type]
    )


def _account(row: sqlite3.Row, prefix: str = "") -> Account:
    return Account(
        id=row[f"{prefix}id"],
        phone=row[f"{prefix}phone"],
        name=row[f"{prefix}name"],
        card_number=row[f"{prefix}card_number"],
        balance=row[f"{prefix}balance"],
        balance_at=from_db_time(row[f"{prefix}balance_at"]),
    )


_ACCOUNT_COLUMNS = "a.id AS a_id, a.phone AS a_phone, a.name AS a_name, a.card_number AS a_card_number, " \
    "a.balance AS a_balance, a.balance_at AS a_balance_at"


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(self, channel: str, external_id: str, user_id: str | None) -> ChatSnapshot:
        """Register the chat (or touch its last_seen) and read it with its conversation and account."""
        now = to_db_time(now_utc())
        await self._db.execute(
            "INSERT INTO chats (channel, external_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, external_id) DO UPDATE SET last_seen = excluded.last_seen,"
            " user_id = coalesce(excluded.user_id, chats.user_id)",
            (channel, external_id, user_id, now, now),
        )
        row = await self._db.fetchone(
            f"SELECT ch.*, cv.step AS cv_step, cv.payload AS cv_payload, {_ACCOUNT_COLUMNS}"
            " FROM chats ch LEFT JOIN conversations cv ON cv.chat_id = ch.id"
            " LEFT JOIN accounts a ON a.id = ch.account_id WHERE ch.channel = ? AND ch.external_id = ?",
            (channel, external_id),
        )
        assert row is not None  # just inserted
        conversation = Conversation(row["cv_step"], row["cv_payload"]) if row["cv_step"] else None
        account = _account(row, "a_") if row["a_id"] is not None else None
        return ChatSnapshot(_chat(row), conversation, account)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._db.fetchone("SELECT * FROM chats WHERE id = ?", (chat_id,))
        return _chat(row) if row else None

    async def find(self, channel: str, external_id: str) -> Chat | None:
        row = await self._db.fetchone(
            "SELECT * FROM chats WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _chat(row) if row else None

    async def for_account(self, account_id: int) -> list[Chat]:
        rows = await self._db.fetchall("SELECT * FROM chats WHERE account_id = ? ORDER BY channel", (account_id,))
        return [_chat(r) for r in rows]

    async def set_conversation(self, chat_id: int, step: str, payload: str) -> None:
        await self._db.execute(
            "INSERT INTO conversations (chat_id, step, payload, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET step = excluded.step, payload = excluded.payload,"
            " updated_at = excluded.updated_at",
            (chat_id, step, payload, to_db_time(now_utc())),
        )

    async def clear_conversation(self, chat_id: int) -> None:
        await self._db.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))

    async def set_locale(self, chat_id: int, locale: str) -> None:
        await self._db.execute("UPDATE chats SET locale = ? WHERE id = ?", (locale, chat_id))

    async def set_opted_out(self, chat_id: int, opted_out: bool) -> None:
        await self._db.execute("UPDATE chats SET opted_out = ? WHERE id = ?", (int(opted_out), chat_id))

    async def mark_progress(self, chat_id: int, step: Progress) -> None:
        """Record the first time a guide step was done (later repeats keep the first time)."""
        column = Progress(step).value  # an enum value, never user input
        await self._db.execute(
            f"UPDATE chats SET {column} = coalesce({column}, ?) WHERE id = ?", (to_db_time(now_utc()), chat_id)
        )

    async def link(self, chat_id: int, account_id: int, actor: str) -> Chat | None:
        """Link the chat to the account; return the chat of the same channel that held the link before, if any."""
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            me = await tx.fetchone("SELECT channel FROM chats WHERE id = ?", (chat_id,))
            assert me is not None
            previous = await tx.fetchone(
                "SELECT * FROM chats WHERE channel = ? AND account_id = ? AND id != ?",
                (me["channel"], account_id, chat_id),
            )
            if previous is not None:
                await tx.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (previous["id"],))
                await _audit(tx, actor, "applicant", "link_moved", f"chat:{previous['id']}", f"to chat:{chat_id}")
            await tx.execute(
                "UPDATE chats SET account_id = ?, linked_at = ? WHERE id = ?", (account_id, now, chat_id)
            )
            await tx.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
            await _audit(tx, actor, "applicant", "link", f"account:{account_id}", f"chat:{chat_id}")
        return _chat(previous) if previous is not None else None

    async def unlink(self, chat_id: int, actor: str, role: str = "applicant", reason: str | None = None) -> int | None:
        """Unlink the chat; return the account id it was linked to (None if it was not linked)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT account_id FROM chats WHERE id = ?", (chat_id,))
            if row is None or row["account_id"] is None:
                return None
            await tx.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = ?", (chat_id,))
            await tx.execute("DELETE FROM conversations WHERE chat_id = ?", (chat_id,))
            await _audit(tx, actor, role, "unlink", f"account:{row['account_id']}", reason or f"chat:{chat_id}")
            return int(row["account_id"])


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_phone(self, phone: str) -> list[Account]:
        rows = await self._db.fetchall("SELECT * FROM accounts WHERE phone = ? ORDER BY id", (phone,))
        return [_account(r) for r in rows]

    async def by_phone_and_nik(self, phone: str, nik_hash: str) -> Account | None:
        row = await self._db.fetchone(
            "SELECT * FROM accounts WHERE phone = ? AND nik_hash = ?", (phone, nik_hash)
        )
        return _account(row) if row else None

    async def get(self, account_id: int) -> Account | None:
        row = await self._db.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return _account(row) if row else None

    async def standings(self, account_id: int) -> list[WaveStanding]:
        rows = await self._db.fetchall(
            "SELECT w.number, w.announce_at, w.published_at, r.result FROM wave_results r"
            " JOIN waves w ON w.number = r.wave WHERE r.account_id = ? ORDER BY w.number DESC",
            (account_id,),
        )
        return [
            WaveStanding(
                Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])),
                WaveResult(r["result"]) if r["result"] else None,
            )
            for r in rows
        ]

    async def import_rows(self, rows: Iterable[ImportRow]) -> ImportCounts:
        """Upsert accounts (by NIK hash) and their wave results in one transaction: all or nothing."""
        new = updated = unchanged = 0
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            for row in rows:
                existing = await tx.fetchone(
                    "SELECT a.id, a.phone, a.name, a.card_number, a.balance, r.result, r.wave IS NOT NULL AS has_wave"
                    " FROM accounts a LEFT JOIN wave_results r ON r.account_id = a.id AND r.wave = ?"
                    " WHERE a.nik_hash = ?",
                    (row.wave, row.nik_hash),
                )
                await tx.execute("INSERT OR IGNORE INTO waves (number) VALUES (?)", (row.wave,))
                result = row.result.value if row.result else None
                if existing is None:
                    cursor_rows = await tx.fetchall(
                        "INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (row.nik_hash, row.phone, row.name, row.card_number, row.balance,
                         now if row.balance is not None else None, now),
                    )
                    account_id = cursor_rows[0]["id"]
                    new += 1
                else:
                    account_id = existing["id"]
                    same = (
                        existing["phone"] == row.phone
                        and existing["name"] == row.name
                        and (row.card_number is None or existing["card_number"] == row.card_number)
                        and (row.balance is None or existing["balance"] == row.balance)
                        and existing["has_wave"]
                        and existing["result"] == result
                    )
                    if same:
                        unchanged += 1
                        continue
                    await tx.execute(
                        "UPDATE accounts SET phone = ?, name = ?, card_number = coalesce(?, card_number),"
                        " balance = coalesce(?, balance),"
                        " balance_at = CASE WHEN ? IS NULL OR balance IS ? THEN balance_at ELSE ? END,"
                        " updated_at = ? WHERE id = ?",
                        (row.phone, row.name, row.card_number, row.balance, row.balance, row.balance, now, now,
                         account_id),
                    )
                    updated += 1
                await tx.execute(
                    "INSERT INTO wave_results (account_id, wave, result) VALUES (?, ?, ?)"
                    " ON CONFLICT (account_id, wave) DO UPDATE SET result = excluded.result",
                    (account_id, row.wave, result),
                )
        return ImportCounts(new=new, updated=updated, unchanged=unchanged)


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated CSV row, NIK already hashed, phone already E.164."""

    nik_hash: str
    phone: str
    name: str
    wave: int
    result: WaveResult | None
    card_number: str | None
    balance: int | None


class WaveRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Wave]:
        rows = await self._db.fetchall("SELECT * FROM waves ORDER BY number")
        return [Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])) for r in rows]

    async def get(self, number: int) -> Wave | None:
        r = await self._db.fetchone("SELECT * FROM waves WHERE number = ?", (number,))
        return Wave(r["number"], from_db_time(r["announce_at"]), from_db_time(r["published_at"])) if r else None

    async def set_announce_at(self, number: int, when: datetime) -> None:
        await self._db.execute(
            "INSERT INTO waves (number, announce_at) VALUES (?, ?)"
            " ON CONFLICT (number) DO UPDATE SET announce_at = excluded.announce_at",
            (number, to_db_time(when)),
        )

    async def publish(self, number: int, when: datetime | None = None) -> bool:
        """Mark the wave published; False if it already was (publishing twice changes nothing)."""
        changed = await self._db.execute(
            "UPDATE waves SET published_at = ? WHERE number = ? AND published_at IS NULL",
            (to_db_time(when or now_utc()), number),
        )
        return changed > 0


class LinkAttemptRepository:
    """Failed verifications per key ('chat:<id>', 'phone:<E.164>')."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def state(self, keys: Sequence[str], now: datetime) -> LinkLock:
        if not keys:
            return LinkLock(0, None)
        marks = ",".join("?" * len(keys))
        rows = await self._db.fetchall(
            f"SELECT failures, locked_until FROM link_attempts WHERE key IN ({marks})", tuple(keys)
        )
        return _combine(rows, now)

    async def record_failure(
        self, keys: Sequence[str], now: datetime, max_failures: int, lock_for: timedelta
    ) -> LinkLock:
        """Count one failure on every key; a key reaching `max_failures` is locked for `lock_for`."""
        until = to_db_time(now + lock_for)
        stamp = to_db_time(now)
        async with self._db.transaction() as tx:
            for key in keys:
                # A lock that has expired starts the count again.
                await tx.execute(
                    "INSERT INTO link_attempts (key, failures, locked_until, last_failure_at) VALUES (?, 1, NULL, ?)"
                    " ON CONFLICT (key) DO UPDATE SET"
                    " failures = CASE WHEN locked_until IS NOT NULL AND locked_until <= ? THEN 1"
                    "  ELSE failures + 1 END,"
                    " locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= ? THEN NULL"
                    "  ELSE locked_until END,"
                    " last_failure_at = excluded.last_failure_at",
                    (key, stamp, stamp, stamp),
                )
                await tx.execute(
                    "UPDATE link_attempts SET locked_until = ? WHERE key = ? AND failures >= ? AND"
                    " locked_until IS NULL",
                    (until, key, max_failures),
                )
            marks = ",".join("?" * len(keys))
            rows = await tx.fetchall(
                f"SELECT failures, locked_until FROM link_attempts WHERE key IN ({marks})", tuple(keys)
            )
        return _combine(rows, now)

    async def clear(self, keys: Sequence[str]) -> None:
        marks = ",".join("?" * len(keys))
        await self._db.execute(f"DELETE FROM link_attempts WHERE key IN ({marks})", tuple(keys))


def _combine(rows: Sequence[sqlite3.Row], now: datetime) -> LinkLock:
    failures = 0
    locked_until: datetime | None = None
    for r in rows:
        until = from_db_time(r["locked_until"])
        if until is not None and until <= now:
            continue  # expired lock: counts for nothing
        failures = max(failures, r["failures"])
        if until is not None and (locked_until is None or until > locked_until):
            locked_until = until
    return LinkLock(failures, locked_until)


class CatalogueRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def platforms(self) -> list[Platform]:
        rows = await self._db.fetchall("SELECT * FROM platforms ORDER BY position")
        result = []
        for r in rows:
            data = json.loads(r["data"])
            result.append(
                Platform(r["id"], r["name"], r["position"], data["url"], tuple(data["domains"]), data["texts"])
            )
        return result

    async def replace(self, platforms: Sequence[Platform], trainings: Sequence[Training]) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM trainings")
            await tx.execute("DELETE FROM platforms")
            await tx.executemany(
                "INSERT INTO platforms (id, name, position, data) VALUES (?, ?, ?, ?)",
                [
                    (p.id, p.name, p.position, json.dumps({"url": p.url, "domains": p.domains, "texts": p.texts}))
                    for p in platforms
                ],
            )
            names = {p.id: p.name for p in platforms}
            await tx.executemany(
                "INSERT INTO trainings (id, platform_id, title, category, price, hours, url, search_text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (t.id, t.platform_id, t.title, t.category, t.price, t.hours, t.url,
                     f"{t.title} {t.category} {names.get(t.platform_id, '')}".lower())
                    for t in trainings
                ],
            )

    async def count_trainings(self) -> int:
        row = await self._db.fetchone("SELECT count(*) AS n FROM trainings")
        return int(row["n"]) if row else 0

    async def search_trainings(
        self, words: Sequence[str], max_price: int | None, offset: int, limit: int
    ) -> tuple[list[Training], int]:
        """Trainings whose text holds every word, cheapest first, within the budget; and the total count."""
        where = ["1 = 1"]
        params: list[object] = []
        for word in words:
            where.append("instr(search_text, ?) > 0")
            params.append(word.lower())
        if max_price is not None:
            where.append("price <= ?")
            params.append(max_price)
        clause = " AND ".join(where)
        rows = await self._db.fetchall(
            f"SELECT *, count(*) OVER () AS total FROM trainings WHERE {clause}"
            " ORDER BY price, title LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        if not rows and offset:
            counted = await self._db.fetchone(f"SELECT count(*) AS n FROM trainings WHERE {clause}", tuple(params))
            total = counted["n"] if counted else 0
        return [
            Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"])
            for r in rows
        ], total

    async def training(self, training_id: str) -> Training | None:
        r = await self._db.fetchone("SELECT * FROM trainings WHERE id = ?", (training_id,))
        return Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"]) \
            if r else None

    async def categories(self) -> list[str]:
        rows = await self._db.fetchall("SELECT DISTINCT category FROM trainings ORDER BY category")
        return [r["category"] for r in rows]


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (to_db_time(now_utc()), actor, role, action, subject, detail),
        )

    async def for_subject(self, subject: str, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE subject = ? ORDER BY id DESC LIMIT ?", (subject, limit)
        )
        return [_audit_entry(r) for r in rows]

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return [_audit_entry(r) for r in rows]


def _audit_entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        r["id"], from_db_time(r["at"]), r["actor"], r["role"], r["action"], r["subject"], r["detail"]  # type: ignore[arg-type]
    )


async def _audit(tx: Transaction, actor: str, role: str, action: str, subject: str, detail: str | None) -> None:
    await tx.execute(
        "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (to_db_time(now_utc()), actor, role, action, subject, detail),
    )
