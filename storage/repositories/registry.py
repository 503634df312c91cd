"""What the programme publishes: accounts and their wave results (imported), waves, and the training catalogue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib import import_module
from typing import NamedTuple

from storage.core import Engine, Repository, Row, Statement, Unit, as_time, count, many, now_utc, one, rows, unit
from storage.errors import ImportConflict
from storage.models import Account, ImportCounts, ImportRow, Platform, Training, Wave, WaveResult, WaveStanding
from storage.repositories.chats import ACCOUNT_FIELDS, APPLICANT_ACCOUNT, account_of


def wave_of(r: Row) -> Wave:
    return Wave(r["number"], as_time(r["announce_at"]), as_time(r["published_at"]))


def _training(r: Row) -> Training:
    return Training(r["id"], r["platform_id"], r["title"], r["category"], r["price"], r["hours"], r["url"])


class AccountRepository(Repository):
    def __init__(self, db: Engine) -> None:
        super().__init__(db)
        self._import_lock = asyncio.Lock()  # one import at a time in this process (PostgreSQL also locks across)

    async def by_phone(self, phone: str) -> list[Account]:
        return await self._all(account_of, "SELECT * FROM accounts WHERE phone = ? ORDER BY id", (phone,))

    async def by_phone_and_nik(self, phone: str, nik_hash: bytes) -> Account | None:
        """The account these prove, as its applicant sees it (no card or balance before the result is announced)."""
        columns = ", ".join(f"{expr} AS {c}" for expr, c in zip(APPLICANT_ACCOUNT, ACCOUNT_FIELDS, strict=True))
        return await self._one(account_of, f"SELECT {columns} FROM accounts a WHERE phone = ? AND nik_hash = ?",
                               (phone, nik_hash))

    async def get(self, account_id: int) -> Account | None:
        return await self._one(account_of, "SELECT * FROM accounts WHERE id = ?", (account_id,))

    async def standings(self, account_id: int) -> list[WaveStanding]:
        return await self._all(lambda r: WaveStanding(wave_of(r), WaveResult(r["result"]) if r["result"] else None),
                               "SELECT w.number, w.announce_at, w.published_at, r.result FROM wave_results r"
                               " JOIN waves w ON w.number = r.wave WHERE r.account_id = ? ORDER BY w.number DESC",
                               (account_id,))

    async def import_rows(self, rows: Iterable[ImportRow]) -> ImportCounts:
        """Upsert accounts (by NIK hash) and their wave results: all or nothing, counted per row.

        A row is *new* when its account had no record for that wave, *unchanged* when the account's phone, name
        (and card/balance, when the row has them) and the wave's result are already as in the row, *updated*
        otherwise. Staged the backend's own way (storage/<backend>/importer.py), then merged set-based.
        Raises `ImportConflict` (nothing written) when a card number belongs to another account already.
        """
        importer = import_module(f"storage.{self._d.name}.importer")
        async with self._import_lock:
            return await importer.import_rows(self._db, rows)


# --- the import's merge: the statements both backends' importers share (storage/{sqlite,postgres}/importer.py) ----
# Rows are staged in `stage` (the columns of ImportRow and `seq`, their order in the file), then planned into `plan`:
# each row with its account (NULL: a new one), whether the account already holds the row's values, and the state
# of its wave result (0: no record for the wave yet, 1: the same result, 2: another result).


def check_conflicts(stage: str) -> Unit[None]:
    """Raise ImportConflict when a staged card number belongs to another account."""
    clashes = yield rows(
        f"SELECT s.line, count(*) OVER () AS total FROM {stage} s JOIN accounts a ON a.card_number = s.card_number"
        " WHERE a.nik_hash <> s.nik_hash ORDER BY s.line LIMIT ?",
        (ImportConflict.LIMIT,),
    )
    if clashes:
        raise ImportConflict([r["line"] for r in clashes], clashes[0]["total"])


def plan_select(stage: str, same: str) -> str:
    """The plan's rows (`same`: the dialect's null-safe equality, SQLite's IS, PostgreSQL's IS NOT DISTINCT FROM)."""
    return (
        "SELECT s.seq, s.nik_hash, s.phone, s.name, s.wave, s.result, s.card_number, s.balance, a.id AS account_id,"
        " (a.id IS NOT NULL AND a.phone = s.phone AND a.name = s.name"
        f"  AND (s.card_number IS NULL OR a.card_number {same} s.card_number)"
        f"  AND (s.balance IS NULL OR a.balance {same} s.balance)) AS account_same,"
        f" CASE WHEN r.account_id IS NULL THEN 0 WHEN r.result {same} s.result THEN 1 ELSE 2 END AS result_state"
        f" FROM {stage} s LEFT JOIN accounts a ON a.nik_hash = s.nik_hash"
        " LEFT JOIN wave_results r ON r.account_id = a.id AND r.wave = s.wave"
    )


def plan_counts(plan: str) -> Statement:
    return one(
        "SELECT count(*) AS total, count(CASE WHEN result_state = 0 THEN 1 END) AS new,"
        " count(CASE WHEN account_same AND result_state = 1 THEN 1 END) AS unchanged,"
        f" count(CASE WHEN account_id IS NULL THEN 1 END) AS new_account_rows FROM {plan}"
    )


def import_counts(counted: Row) -> ImportCounts:
    new, unchanged = int(counted["new"]), int(counted["unchanged"])
    return ImportCounts(new=new, updated=int(counted["total"]) - new - unchanged, unchanged=unchanged)


def merge_known(plan: str, same: str, now: datetime) -> Unit[None]:
    """The waves the file names, and the accounts that exist and change."""
    yield count(f"INSERT INTO waves (number) SELECT DISTINCT wave FROM {plan} WHERE true ON CONFLICT DO NOTHING")
    # Rows of one account agree on phone and name (the validator sees to it); card and balance come from the
    # row that has them (its lolos row) and are kept when no row has them.
    yield count("UPDATE accounts SET phone = c.phone, name = c.name,"
                " card_number = coalesce(c.card_number, accounts.card_number),"
                " balance = coalesce(c.balance, accounts.balance), balance_at = CASE WHEN c.balance IS NULL"
                f"  OR c.balance {same} accounts.balance THEN accounts.balance_at ELSE ? END, updated_at = ?"
                " FROM (SELECT account_id, max(phone) AS phone, max(name) AS name, max(card_number) AS card_number,"
                f"  max(balance) AS balance FROM {plan} WHERE account_id IS NOT NULL AND NOT account_same"
                "  GROUP BY account_id) AS c WHERE accounts.id = c.account_id",
                (now, now))


class WaveRepository(Repository):
    async def all(self) -> list[Wave]:
        return await self._all(wave_of, "SELECT * FROM waves ORDER BY number")

    async def get(self, number: int) -> Wave | None:
        return await self._one(wave_of, "SELECT * FROM waves WHERE number = ?", (number,))

    async def set_announce_at(self, number: int, when: datetime) -> None:
        await self._db.execute("INSERT INTO waves (number, announce_at) VALUES (?, ?)"
                               " ON CONFLICT (number) DO UPDATE SET announce_at = excluded.announce_at",
                               (number, when))

    async def publish(self, number: int, when: datetime | None = None) -> bool:
        """Mark the wave published; False if it already was (publishing twice changes nothing)."""
        return await self._db.execute("UPDATE waves SET published_at = ? WHERE number = ? AND published_at IS NULL",
                                      (when or now_utc(), number)) > 0


class _CatalogueSummary(NamedTuple):
    data_version: int | None
    platforms: list[Platform]
    stats: dict[str, tuple[int, int, int]]


class CatalogueRepository(Repository):
    def __init__(self, db: Engine) -> None:
        super().__init__(db)
        # The platforms and their statistics change only when the catalogue is replaced. On SQLite they are kept in
        # this process until `replace` here, or a commit by another process (e.g. `python -m bot
        # import-catalogue`), which changes the data_version that every chat snapshot reads.
        self._summary: _CatalogueSummary | None = None
        self._summary_sql = (
            "SELECT p.*, s.n, s.low, s.high, "
            f"{db.dialect.data_version} AS data_version FROM platforms p LEFT JOIN (SELECT platform_id,"
            " count(*) AS n, min(price) AS low, max(price) AS high FROM trainings GROUP BY platform_id) s"
            " ON s.platform_id = p.id ORDER BY p.position"
        )

    async def _current(self) -> _CatalogueSummary:
        summary = self._summary
        if summary is None or summary.data_version is None or summary.data_version != self._db.data_version:
            found = await self._db.fetchall(self._summary_sql)
            platforms = []
            for r in found:
                data = json.loads(r["data"])
                platforms.append(
                    Platform(r["id"], r["name"], r["position"], data["url"], tuple(data["domains"]), data["texts"])
                )
            version = found[0]["data_version"] if found else None
            stats = {r["id"]: (r["n"], r["low"], r["high"]) for r in found if r["n"]}
            summary = self._summary = _CatalogueSummary(version, platforms, stats)
            if version is not None:
                self._db.data_version = version
        return summary

    async def platforms(self) -> list[Platform]:
        return list((await self._current()).platforms)

    async def training_stats(self) -> dict[str, tuple[int, int, int]]:
        """Per platform id: how many trainings, the lowest and the highest price."""
        return dict((await self._current()).stats)

    async def replace(self, platforms: Sequence[Platform], trainings: Sequence[Training]) -> None:
        self._summary = None
        try:
            await self._replace(platforms, trainings)
        finally:
            self._summary = None  # a read that overlapped the replacement may have cached the old catalogue

    @unit
    def _replace(self, platforms: Sequence[Platform], trainings: Sequence[Training]) -> Unit[None]:
        # Processes starting together all seed an empty catalogue (PostgreSQL): without this lock both DELETEs see
        # nothing and the second INSERT fails on the primary key. The lock ends with the transaction.
        lock = self._d.lock_name("catalogue")
        if lock is not None:
            yield lock
        yield count("DELETE FROM trainings")
        yield count("DELETE FROM platforms")
        yield many("INSERT INTO platforms (id, name, position, data) VALUES (?, ?, ?, ?)",
                   [(p.id, p.name, p.position, json.dumps({"url": p.url, "domains": p.domains, "texts": p.texts}))
                    for p in platforms])
        names = {p.id: p.name for p in platforms}
        yield many("INSERT INTO trainings (id, platform_id, title, category, price, hours, url, search_text)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(t.id, t.platform_id, t.title, t.category, t.price, t.hours, t.url,
                     f"{t.title} {t.category} {names.get(t.platform_id, '')}".lower()) for t in trainings])

    async def count_trainings(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM trainings") or 0)

    async def search_trainings(
        self, words: Sequence[str], max_price: int | None, offset: int, limit: int,
        *, category: str | None = None, platform_id: str | None = None,
    ) -> tuple[list[Training], int]:
        """Trainings whose text holds every word (and of the category / platform, if given), cheapest first,
        within the budget; and the total count."""
        where = [f"{self._d.strpos}(search_text, ?) > 0" for _ in words]
        params: list[object] = [word.lower() for word in words]
        for term, given in (("price <= ?", max_price), ("category = ?", category), ("platform_id = ?", platform_id)):
            if given is not None:
                where.append(term)
                params.append(given)
        clause = " AND ".join(where) or "1 = 1"
        found = await self._db.fetchall(f"SELECT *, count(*) OVER () AS total FROM trainings WHERE {clause}"
                                        " ORDER BY price, title LIMIT ? OFFSET ?", (*params, limit, offset))
        total = found[0]["total"] if found else 0
        if not found and offset:
            total = await self._db.fetchval(f"SELECT count(*) FROM trainings WHERE {clause}", params) or 0
        return [_training(r) for r in found], int(total)

    async def training(self, training_id: str) -> Training | None:
        return await self._one(_training, "SELECT * FROM trainings WHERE id = ?", (training_id,))

    async def categories(self) -> list[str]:
        return await self._all(lambda r: r[0], "SELECT DISTINCT category FROM trainings ORDER BY category")
