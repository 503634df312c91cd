"""Repositories of free text (issue 13): the FAQ an admin imported, and the messages not understood per day.

The FAQ is one row: the file as uploaded (validated above the storage layer), its digest, and who imported it when;
replacing it writes the audit record in the same unit. No row means the FAQ shipped with the bot is in force.
Messages not understood arrive already masked and normalized (handlers/freetext.py): one row per day and text,
counted with an upsert, so many processes count into the same row.
"""

from __future__ import annotations

from datetime import datetime

from storage.core import Repository, Row, Unit, as_time, count, unit
from storage.models import StoredFaq, UnmatchedCount
from storage.repositories.chats import audit


def stored_faq_of(r: Row) -> StoredFaq:
    return StoredFaq(r["body"], r["version"], r["entries"], as_time(r["imported_at"]), r["imported_by"])


class FaqRepository(Repository):
    async def current(self) -> StoredFaq | None:
        """The imported FAQ, or None: the shipped one is in force."""
        return await self._one(stored_faq_of, "SELECT * FROM faq WHERE id = 1")

    async def version(self) -> str | None:
        """The imported FAQ's digest (cheap: what a process compares before reading the whole file)."""
        return await self._db.fetchval("SELECT version FROM faq WHERE id = 1")

    @unit
    def replace(self, body: str, version: str, entries: int, actor: str, role: str, at: datetime) -> Unit[None]:
        """Put this FAQ in force, audited, all or nothing."""
        yield count("INSERT INTO faq (id, body, version, entries, imported_at, imported_by) VALUES (1, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET body = excluded.body, version = excluded.version,"
                    " entries = excluded.entries, imported_at = excluded.imported_at,"
                    " imported_by = excluded.imported_by", (body, version, entries, at, actor))
        yield audit(actor, role, "faq_import", None, f"version={version} entries={entries}", at)


class UnmatchedRepository(Repository):
    async def add(self, day: str, text: str, locale: str) -> None:
        """Count one message not understood on `day` ('YYYY-MM-DD'); `text` is already masked and normalized."""
        await self._db.execute("INSERT INTO unmatched (day, text, locale, count) VALUES (?, ?, ?, 1)"
                               " ON CONFLICT (day, text) DO UPDATE SET count = unmatched.count + 1,"
                               " locale = excluded.locale", (day, text, locale))

    async def top(self, since_day: str, limit: int) -> list[UnmatchedCount]:
        """The most frequent messages from `since_day` on (inclusive), most frequent first."""
        return await self._all(
            lambda r: UnmatchedCount(r["text"], r["total"], r["days"], r["last_day"], r["locale"]),
            "SELECT text, sum(count) AS total, count(*) AS days, max(day) AS last_day, min(locale) AS locale"
            " FROM unmatched WHERE day >= ? GROUP BY text ORDER BY total DESC, last_day DESC, text LIMIT ?",
            (since_day, limit))

    async def older(self, before_day: str) -> int:
        """How many day rows `prune(before_day)` would delete (retention's dry run)."""
        return int(await self._db.fetchval("SELECT count(*) FROM unmatched WHERE day < ?", (before_day,)))

    async def prune(self, before_day: str) -> int:
        """Forget the days before `before_day`; how many rows went."""
        return await self._db.execute("DELETE FROM unmatched WHERE day < ?", (before_day,))
