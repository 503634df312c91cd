"""The PostgreSQL repositories of chats, accounts, waves, link attempts, the catalogue and the audit log.

Same classes, method names, signatures and return types as storage/sqlite/repositories.py (tests/storage runs one
suite on both); the SQL is PostgreSQL's: one statement where SQLite needs two (`INSERT ... RETURNING` inside a
CTE), arrays instead of generated `IN (?, ?, ...)` lists, COPY for imports, and row locks where two processes
could otherwise interleave (linking one account from two chats at once).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta

import asyncpg

from storage.models import (
    DEFAULT_CHAT_LOCALE,
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
from storage.postgres.coordination import lock_key
from storage.postgres.database import Database, Transaction
from storage.sqlite.database import now_utc
from storage.sqlite.repositories import ImportConflict, ImportRow, Progress

COPY_YIELD_EVERY = 5_000  # rows streamed into COPY between two turns of the event loop
IMPORT_LOCK = "prakerja.import"  # one import at a time across processes (advisory lock key, hashed)


def chat_row(r: asyncpg.Record) -> Chat:
    return Chat(
        id=r["id"],
        channel=r["channel"],
        external_id=r["external_id"],
        user_id=r["user_id"],
        locale=r["locale"],
        account_id=r["account_id"],
        opted_out=r["opted_out"],
        blocked=r["blocked"],
        video_watched_at=r["video_watched_at"],
        platforms_compared_at=r["platforms_compared_at"],
        training_chosen_at=r["training_chosen_at"],
        training_bought_at=r["training_bought_at"],
        first_seen=r["first_seen"],
        last_seen=r["last_seen"],
    )


def account_row(r: asyncpg.Record, prefix: str = "") -> Account:
    return Account(
        id=r[f"{prefix}id"],
        phone=r[f"{prefix}phone"],
        name=r[f"{prefix}name"],
        card_number=r[f"{prefix}card_number"],
        balance=r[f"{prefix}balance"],
        balance_at=r[f"{prefix}balance_at"],
    )


def wave_row(r: asyncpg.Record) -> Wave:
    return Wave(r["number"], r["announce_at"], r["published_at"])


def audit_row(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(r["id"], r["at"], r["actor"], r["role"], r["action"], r["subject"], r["detail"])


ACCOUNT_COLUMNS = ("a.id AS a_id, a.phone AS a_phone, a.name AS a_name, a.card_number AS a_card_number,"
                   " a.balance AS a_balance, a.balance_at AS a_balance_at")
AUDIT_INSERT = "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)"


async def audit(tx: Transaction, actor: str, role: str, action: str, subject: str | None, detail: str | None) -> None:
    await tx.execute(AUDIT_INSERT, (now_utc(), actor, role, action, subject, detail))


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def snapshot(
        self, channel: str, external_id: str, user_id: str | None, locale: str = DEFAULT_CHAT_LOCALE
    ) -> ChatSnapshot:
        """Register the chat (or touch its last_seen) and read it with its conversation and account: one statement."""
        row = await self._db.fetchone(
            "WITH ch AS (INSERT INTO chats (channel, external_id, user_id, first_seen, last_seen, locale)"
            " VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (channel, external_id) DO UPDATE SET"
            " last_seen = excluded.last_seen, user_id = coalesce(excluded.user_id, chats.user_id),"
            " blocked = false RETURNING *)"  # the user writes again: they can receive messages again
            f" SELECT ch.*, cv.step AS cv_step, cv.payload AS cv_payload, {ACCOUNT_COLUMNS},"
            " (SELECT g.role FROM granted_roles g WHERE g.channel = ch.channel AND g.user_id = $3) AS granted_role,"
            " la.failures AS la_failures, la.locked_until AS la_locked_until"
            " FROM ch LEFT JOIN conversations cv ON cv.chat_id = ch.id LEFT JOIN accounts a ON a.id = ch.account_id"
            " LEFT JOIN link_attempts la ON la.key = 'chat:' || ch.id",
            (channel, external_id, user_id, now_utc(), locale),
        )
        assert row is not None  # just upserted
        conversation = Conversation(row["cv_step"], row["cv_payload"]) if row["cv_step"] else None
        account = account_row(row, "a_") if row["a_id"] is not None else None
        attempts = LinkLock(row["la_failures"], row["la_locked_until"]) if row["la_failures"] is not None else None
        return ChatSnapshot(chat_row(row), conversation, account, row["granted_role"], attempts)

    async def get(self, chat_id: int) -> Chat | None:
        row = await self._db.fetchone("SELECT * FROM chats WHERE id = $1", (chat_id,))
        return chat_row(row) if row else None

    async def find(self, channel: str, external_id: str) -> Chat | None:
        row = await self._db.fetchone(
            "SELECT * FROM chats WHERE channel = $1 AND external_id = $2", (channel, external_id)
        )
        return chat_row(row) if row else None

    async def for_account(self, account_id: int) -> list[Chat]:
        rows = await self._db.fetchall("SELECT * FROM chats WHERE account_id = $1 ORDER BY channel", (account_id,))
        return [chat_row(r) for r in rows]

    async def set_conversation(self, chat_id: int, step: str, payload: str) -> None:
        await self._db.execute(
            "INSERT INTO conversations (chat_id, step, payload, updated_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (chat_id) DO UPDATE SET step = excluded.step, payload = excluded.payload,"
            " updated_at = excluded.updated_at",
            (chat_id, step, payload, now_utc()),
        )

    async def clear_conversation(self, chat_id: int) -> None:
        await self._db.execute("DELETE FROM conversations WHERE chat_id = $1", (chat_id,))

    async def set_locale(self, chat_id: int, locale: str) -> None:
        await self._db.execute("UPDATE chats SET locale = $1 WHERE id = $2", (locale, chat_id))

    async def set_opted_out(self, chat_id: int, opted_out: bool) -> None:
        await self._db.execute("UPDATE chats SET opted_out = $1 WHERE id = $2", (opted_out, chat_id))

    async def mark_progress(self, chat_id: int, step: Progress) -> None:
        """Record the first time a guide step was done (later repeats keep the first time)."""
        column = Progress(step).value  # an enum value, never user input
        await self._db.execute(
            f"UPDATE chats SET {column} = coalesce({column}, $1) WHERE id = $2", (now_utc(), chat_id)
        )

    async def link(self, chat_id: int, account_id: int, actor: str) -> Chat | None:
        """Link the chat to the account; return the chat of the same channel that held the link before, if any."""
        async with self._db.transaction() as tx:
            # The account's row lock orders two chats linking the same account at once (two processes).
            await tx.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", (account_id,))
            me = await tx.fetchone("SELECT channel FROM chats WHERE id = $1", (chat_id,))
            assert me is not None
            previous = await tx.fetchone(
                "SELECT * FROM chats WHERE channel = $1 AND account_id = $2 AND id <> $3 FOR UPDATE",
                (me["channel"], account_id, chat_id),
            )
            if previous is not None:
                await tx.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = $1",
                                 (previous["id"],))
                await audit(tx, actor, "applicant", "link_moved", f"chat:{previous['id']}", f"to chat:{chat_id}")
            await tx.execute("UPDATE chats SET account_id = $1, linked_at = $2 WHERE id = $3",
                             (account_id, now_utc(), chat_id))
            await tx.execute("DELETE FROM conversations WHERE chat_id = $1", (chat_id,))
            await audit(tx, actor, "applicant", "link", f"account:{account_id}", f"chat:{chat_id}")
        return chat_row(previous) if previous is not None else None

    async def unlink(self, chat_id: int, actor: str, role: str = "applicant", reason: str | None = None) -> int | None:
        """Unlink the chat; return the account id it was linked to (None if it was not linked)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT account_id FROM chats WHERE id = $1 FOR UPDATE", (chat_id,))
            if row is None or row["account_id"] is None:
                return None
            await tx.execute("UPDATE chats SET account_id = NULL, linked_at = NULL WHERE id = $1", (chat_id,))
            await tx.execute("DELETE FROM conversations WHERE chat_id = $1", (chat_id,))
            await audit(tx, actor, role, "unlink", f"account:{row['account_id']}", reason or f"chat:{chat_id}")
            return int(row["account_id"])


_STAGE_COLUMNS = ImportRow._fields  # nik_hash, phone, name, wave, result, card_number, balance, line


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_phone(self, phone: str) -> list[Account]:
        rows = await self._db.fetchall("SELECT * FROM accounts WHERE phone = $1 ORDER BY id", (phone,))
        return [account_row(r) for r in rows]

    async def by_phone_and_nik(self, phone: str, nik_hash: str) -> Account | None:
        row = await self._db.fetchone(
            "SELECT * FROM accounts WHERE phone = $1 AND nik_hash = $2", (phone, nik_hash)
        )
        return account_row(row) if row else None

    async def get(self, account_id: int) -> Account | None:
        row = await self._db.fetchone("SELECT * FROM accounts WHERE id = $1", (account_id,))
        return account_row(row) if row else None

    async def standings(self, account_id: int) -> list[WaveStanding]:
        rows = await self._db.fetchall(
            "SELECT w.number, w.announce_at, w.published_at, r.result FROM wave_results r"
            " JOIN waves w ON w.number = r.wave WHERE r.account_id = $1 ORDER BY w.number DESC",
            (account_id,),
        )
        return [WaveStanding(wave_row(r), WaveResult(r["result"]) if r["result"] else None) for r in rows]

    async def import_rows(self, rows: Iterable[ImportRow]) -> ImportCounts:
        """Upsert accounts (by NIK hash) and their wave results: all or nothing, counted per row.

        Counting as in the SQLite backend (new / updated / unchanged per row). The rows are streamed with one COPY
        into a temporary table (the iterable may validate lazily and raise to abort: the transaction then rolls
        back and nothing is written), then merged set-based in the same transaction. MVCC keeps the bot's other
        writes going meanwhile; only the accounts the merge touches wait for its commit.
        Raises `ImportConflict` (nothing written) when a card number belongs to another account already.
        """
        now = now_utc()
        async with self._db.transaction() as tx:
            conn = tx.connection
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", IMPORT_LOCK)
            await conn.execute(
                "CREATE TEMP TABLE import_staging (seq bigint GENERATED ALWAYS AS IDENTITY, nik_hash text NOT NULL,"
                " phone text NOT NULL, name text NOT NULL, wave integer NOT NULL, result text, card_number text,"
                " balance bigint, line integer NOT NULL) ON COMMIT DROP"
            )
            await conn.copy_records_to_table("import_staging", records=_stream(rows), columns=_STAGE_COLUMNS)
            self._db.hops += 3
            if not await conn.fetchval("SELECT count(*) FROM import_staging"):
                return ImportCounts(new=0, updated=0, unchanged=0)
            clashes = await tx.fetchall(
                "SELECT s.line, count(*) OVER () AS total FROM import_staging s"
                " JOIN accounts a ON a.card_number = s.card_number WHERE a.nik_hash <> s.nik_hash"
                " ORDER BY s.line LIMIT $1",
                (ImportConflict.LIMIT,),
            )
            if clashes:
                raise ImportConflict([r["line"] for r in clashes], clashes[0]["total"])
            counts = await self._plan(tx)
            await tx.execute("INSERT INTO waves (number) SELECT DISTINCT wave FROM import_plan ON CONFLICT DO NOTHING")
            await self._upsert_accounts(tx, now)
            # A wave given twice for one account in one file: the later row wins, as a second import would.
            await tx.execute(
                "INSERT INTO wave_results (account_id, wave, result) SELECT DISTINCT ON (account_id, wave)"
                " account_id, wave, result FROM import_plan WHERE result_state <> 1 ORDER BY account_id, wave,"
                " seq DESC ON CONFLICT (account_id, wave) DO UPDATE SET result = excluded.result"
            )
        new, unchanged = int(counts["new"]), int(counts["unchanged"])
        return ImportCounts(new=new, updated=int(counts["total"]) - new - unchanged, unchanged=unchanged)

    @staticmethod
    async def _plan(tx: Transaction) -> asyncpg.Record:
        """One pass over the staged rows against the database: each row's account (if any) and what changes."""
        await tx.execute(
            "CREATE TEMP TABLE import_plan ON COMMIT DROP AS SELECT s.seq, s.nik_hash, s.phone, s.name, s.wave,"
            " s.result, s.card_number, s.balance, a.id AS account_id,"
            " (a.id IS NOT NULL AND a.phone = s.phone AND a.name = s.name"
            "  AND (s.card_number IS NULL OR a.card_number IS NOT DISTINCT FROM s.card_number)"
            "  AND (s.balance IS NULL OR a.balance IS NOT DISTINCT FROM s.balance)) AS account_same,"
            " CASE WHEN r.account_id IS NULL THEN 0 WHEN r.result IS NOT DISTINCT FROM s.result THEN 1 ELSE 2 END"
            "  AS result_state"
            " FROM import_staging s LEFT JOIN accounts a ON a.nik_hash = s.nik_hash"
            " LEFT JOIN wave_results r ON r.account_id = a.id AND r.wave = s.wave"
        )
        counts = await tx.fetchone(
            "SELECT count(*) AS total, count(*) FILTER (WHERE result_state = 0) AS new,"
            " count(*) FILTER (WHERE account_same AND result_state = 1) AS unchanged FROM import_plan"
        )
        assert counts is not None
        return counts

    @staticmethod
    async def _upsert_accounts(tx: Transaction, now: datetime) -> None:
        # Rows of one account agree on phone and name (the validator sees to it); card and balance come from the
        # row that has them (its lolos row) and are kept when no row has them.
        await tx.execute(
            "UPDATE accounts a SET phone = c.phone, name = c.name, card_number = coalesce(c.card_number,"
            " a.card_number), balance = coalesce(c.balance, a.balance),"
            " balance_at = CASE WHEN c.balance IS NULL OR c.balance IS NOT DISTINCT FROM a.balance THEN a.balance_at"
            " ELSE $1 END, updated_at = $1"
            " FROM (SELECT account_id, max(phone) AS phone, max(name) AS name, max(card_number) AS card_number,"
            "  max(balance) AS balance FROM import_plan WHERE account_id IS NOT NULL AND NOT account_same"
            "  GROUP BY account_id) AS c WHERE a.id = c.account_id",
            (now,),
        )
        # New accounts, one per NIK (a new NIK may come on several rows: several waves), then their ids.
        await tx.execute(
            "WITH created AS (INSERT INTO accounts (nik_hash, phone, name, card_number, balance, balance_at,"
            " updated_at) SELECT nik_hash, max(phone), max(name), max(card_number), max(balance),"
            " CASE WHEN max(balance) IS NULL THEN NULL ELSE $1::timestamptz END, $1 FROM import_plan"
            " WHERE account_id IS NULL GROUP BY nik_hash ORDER BY min(seq) RETURNING id, nik_hash)"
            " UPDATE import_plan p SET account_id = created.id FROM created WHERE p.nik_hash = created.nik_hash",
            (now,),
        )


async def _stream(rows: Iterable[ImportRow]) -> AsyncIterator[tuple[object, ...]]:
    """The rows as COPY records, letting the event loop send what is buffered every few thousand rows."""
    for n, r in enumerate(rows, 1):
        yield (r.nik_hash, r.phone, r.name, r.wave, r.result.value if r.result else None, r.card_number, r.balance,
               r.line)
        if n % COPY_YIELD_EVERY == 0:
            await asyncio.sleep(0)


class WaveRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Wave]:
        return [wave_row(r) for r in await self._db.fetchall("SELECT * FROM waves ORDER BY number")]

    async def get(self, number: int) -> Wave | None:
        r = await self._db.fetchone("SELECT * FROM waves WHERE number = $1", (number,))
        return wave_row(r) if r else None

    async def set_announce_at(self, number: int, when: datetime) -> None:
        await self._db.execute(
            "INSERT INTO waves (number, announce_at) VALUES ($1, $2)"
            " ON CONFLICT (number) DO UPDATE SET announce_at = excluded.announce_at",
            (number, _aware(when)),
        )

    async def publish(self, number: int, when: datetime | None = None) -> bool:
        """Mark the wave published; False if it already was (publishing twice changes nothing)."""
        changed = await self._db.execute(
            "UPDATE waves SET published_at = $1 WHERE number = $2 AND published_at IS NULL",
            (_aware(when or now_utc()), number),
        )
        return changed > 0


class LinkAttemptRepository:
    """Failed verifications per key ('chat:<id>', 'phone:<E.164>')."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def state(self, keys: Sequence[str], now: datetime) -> LinkLock:
        if not keys:
            return LinkLock(0, None)
        rows = await self._db.fetchall(
            "SELECT failures, locked_until FROM link_attempts WHERE key = ANY($1::text[])", (list(keys),)
        )
        return _combine(rows, now)

    async def record_failure(
        self, keys: Sequence[str], now: datetime, max_failures: int, lock_for: timedelta
    ) -> LinkLock:
        """Count one failure on every key; a key reaching `max_failures` is locked for `lock_for`.

        One statement for all keys: an expired lock starts the count again, a running lock stays as it is.
        """
        if not keys:
            return LinkLock(0, None)
        rows = await self._db.fetchall(
            "INSERT INTO link_attempts AS la (key, failures, locked_until, last_failure_at)"
            " SELECT k, 1, CASE WHEN 1 >= $3 THEN $4::timestamptz END, $2 FROM unnest($1::text[]) AS u(k)"
            " GROUP BY k ON CONFLICT (key) DO UPDATE SET"
            " failures = CASE WHEN la.locked_until <= $2 THEN 1 ELSE la.failures + 1 END,"
            " locked_until = CASE WHEN la.locked_until > $2 THEN la.locked_until"
            "  WHEN (CASE WHEN la.locked_until <= $2 THEN 1 ELSE la.failures + 1 END) >= $3 THEN $4 END,"
            " last_failure_at = excluded.last_failure_at"
            " RETURNING failures, locked_until",
            (list(keys), _aware(now), max_failures, _aware(now + lock_for)),
        )
        return _combine(rows, now)

    async def clear(self, keys: Sequence[str]) -> None:
        await self._db.execute("DELETE FROM link_attempts WHERE key = ANY($1::text[])", (list(keys),))


def _combine(rows: Sequence[asyncpg.Record], now: datetime) -> LinkLock:
    failures = 0
    locked_until: datetime | None = None
    for r in rows:
        until = r["locked_until"]
        if until is not None and until <= now:
            continue  # expired lock: counts for nothing
        failures = max(failures, r["failures"])
        if until is not None and (locked_until is None or until > locked_until):
            locked_until = until
    return LinkLock(failures, locked_until)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give a time zone")
    return value


def _training(r: asyncpg.Record) -> Training:
    return Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"])


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
        names = {p.id: p.name for p in platforms}
        async with self._db.transaction() as tx:
            # Processes starting together all seed an empty catalogue: without this lock both DELETEs see nothing
            # and the second INSERT fails on the primary key. The lock ends with the transaction.
            await tx.execute("SELECT pg_advisory_xact_lock($1)", (lock_key("catalogue"),))
            await tx.execute("DELETE FROM trainings")
            await tx.execute("DELETE FROM platforms")
            await tx.executemany(
                "INSERT INTO platforms (id, name, position, data) VALUES ($1, $2, $3, $4)",
                [(p.id, p.name, p.position, json.dumps({"url": p.url, "domains": p.domains, "texts": p.texts}))
                 for p in platforms],
            )
            await tx.connection.copy_records_to_table(
                "trainings",
                records=[(t.id, t.platform_id, t.title, t.category, t.price, t.hours, t.url,
                          f"{t.title} {t.category} {names.get(t.platform_id, '')}".lower()) for t in trainings],
                columns=("id", "platform_id", "title", "category", "price", "hours", "url", "search_text"),
            )

    async def count_trainings(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM trainings") or 0)

    async def search_trainings(
        self, words: Sequence[str], max_price: int | None, offset: int, limit: int,
        *, category: str | None = None, platform_id: str | None = None,
    ) -> tuple[list[Training], int]:
        """Trainings whose text holds every word (and of the category / platform, if given), cheapest first,
        within the budget; and the total count."""
        where = ["1 = 1"]
        params: list[object] = []
        for word in words:
            params.append(word.lower())
            where.append(f"strpos(search_text, ${len(params)}) > 0")
        for term, value in (("price <= ", max_price), ("category = ", category), ("platform_id = ", platform_id)):
            if value is not None:
                params.append(value)
                where.append(f"{term}${len(params)}")
        clause = " AND ".join(where)
        n = len(params)
        rows = await self._db.fetchall(
            f"SELECT *, count(*) OVER () AS total FROM trainings WHERE {clause}"
            f" ORDER BY price, title LIMIT ${n + 1} OFFSET ${n + 2}",
            (*params, limit, offset),
        )
        total = rows[0]["total"] if rows else 0
        if not rows and offset:
            total = await self._db.fetchval(f"SELECT count(*) FROM trainings WHERE {clause}", tuple(params)) or 0
        return [_training(r) for r in rows], int(total)

    async def training(self, training_id: str) -> Training | None:
        r = await self._db.fetchone("SELECT * FROM trainings WHERE id = $1", (training_id,))
        return _training(r) if r else None

    async def categories(self) -> list[str]:
        rows = await self._db.fetchall("SELECT DISTINCT category FROM trainings ORDER BY category")
        return [r["category"] for r in rows]

    async def training_stats(self) -> dict[str, tuple[int, int, int]]:
        """Per platform id: how many trainings, the lowest and the highest price."""
        rows = await self._db.fetchall(
            "SELECT platform_id, count(*) AS n, min(price) AS low, max(price) AS high FROM trainings"
            " GROUP BY platform_id"
        )
        return {r["platform_id"]: (r["n"], r["low"], r["high"]) for r in rows}


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, actor: str, role: str, action: str, subject: str | None, detail: str | None = None) -> None:
        await self._db.execute(AUDIT_INSERT, (now_utc(), actor, role, action, subject, detail))

    async def for_subject(self, subject: str, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall(
            "SELECT * FROM audit_log WHERE subject = $1 ORDER BY id DESC LIMIT $2", (subject, limit)
        )
        return [audit_row(r) for r in rows]

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        rows = await self._db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1", (limit,))
        return [audit_row(r) for r in rows]
