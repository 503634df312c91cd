"""The durable inbox (issue 14.3, bot/inbox/): each update stored before the platform is told it arrived, marked
done once handled, its payload dropped then. `(channel, update_id)` is unique: a redelivery (in this process, in
another, after a restart) is not stored twice, and `accept` names only the updates stored for the first time.

Several processes (PostgreSQL): each row names its `owner` (the process handling it) and `lease_until`, which the
owner renews while it runs (`renew`). `take_over` gives a process the rows not done whose lease ran out (their
owner died), each row to one process only (`SKIP LOCKED`), with the chat turn taken for each before its 200.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.core import Repository
from storage.models import InboxEntry

INBOX_KEEP = timedelta(days=7)  # the ids of handled updates, against redeliveries (Meta retries for up to 7 days)
ROWS_PER_STATEMENT = 200  # 6 parameters a row, far below either backend's limit
COLUMNS = {"channel": "text", "update_id": "text", "payload": "text", "received_at": "timestamptz", "owner": "text",
           "lease_until": "timestamptz"}


class InboxRepository(Repository):
    async def accept(self, channel: str, updates: Sequence[tuple[str, str]], now: datetime, owner: str | None = None,
                     lease_until: datetime | None = None) -> set[str]:
        """Store `(update_id, payload)` pairs, one statement per 200, owned by `owner` until `lease_until`; the ids
        stored now (not seen before)."""
        stored: set[str] = set()
        unique = list(dict(updates).items())
        for start in range(0, len(unique), ROWS_PER_STATEMENT):
            chunk = unique[start:start + ROWS_PER_STATEMENT]
            table, params = self._d.rowset("n", COLUMNS, [(channel, i, p, now, owner, lease_until) for i, p in chunk])
            rows = await self._db.fetchall(
                f"WITH {table} INSERT INTO inbox ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM n WHERE true"
                " ON CONFLICT (channel, update_id) DO NOTHING RETURNING update_id", params)
            stored.update(r[0] for r in rows)
        return stored

    async def done(self, channel: str, update_ids: Sequence[str], now: datetime) -> int:
        """Mark handled: the payload goes (the update may hold a NIK), the id stays against redeliveries."""
        if not update_ids:
            return 0
        where, params = self._d.isin("update_id", update_ids)
        return await self._db.execute(f"UPDATE inbox SET payload = NULL, done_at = ? WHERE channel = ? AND {where}"
                                      " AND done_at IS NULL", [now, channel, *params])

    async def unfinished(self, channel: str) -> list[InboxEntry]:
        """The updates stored and not handled yet (a crash, a stop mid-way), in the order they came."""
        return await self._all(lambda r: InboxEntry(r["update_id"], r["payload"]),
                               "SELECT update_id, payload FROM inbox WHERE channel = ? AND done_at IS NULL ORDER BY id",
                               (channel,))

    async def take_over(self, channel: str, owner: str, now: datetime, lease_until: datetime, *,
                        everything: bool = False) -> list[InboxEntry]:
        """The rows not done whose lease ran out before `now` (`everything`: all rows not done, the one process of
        SQLite or polling at its start), now `owner`'s until `lease_until`, in the order they came. A row another
        process is taking over at the same moment is left to it."""
        expired = "" if everything else " AND (lease_until IS NULL OR lease_until < ?)"
        rows = await self._db.fetchall(
            "UPDATE inbox SET owner = ?, lease_until = ? WHERE id IN (SELECT id FROM inbox WHERE channel = ?"
            f" AND done_at IS NULL{expired} ORDER BY id{self._d.lock(skip=True)}) RETURNING id, update_id, payload,"
            " turn", (owner, lease_until, channel, *(() if everything else (now,))))
        return [InboxEntry(r["update_id"], r["payload"], r["turn"]) for r in sorted(rows, key=lambda r: r["id"])]

    async def renew(self, owner: str, lease_until: datetime) -> int:
        """`owner` is alive: its rows not done stay its own until `lease_until`."""
        return await self._db.execute("UPDATE inbox SET lease_until = ? WHERE owner = ? AND done_at IS NULL",
                                      (lease_until, owner))

    async def probe(self, now: datetime) -> None:
        """A write that touches the disk (/healthz): StorageError when the database cannot be written."""
        await self._db.execute("INSERT INTO inbox (channel, update_id, received_at, done_at) VALUES ('health', 'probe',"
                               " ?, ?) ON CONFLICT (channel, update_id) DO UPDATE SET done_at = excluded.done_at",
                               (now, now))

    async def prune(self, now: datetime) -> int:
        """Forget handled updates older than INBOX_KEEP."""
        return await self._db.execute("DELETE FROM inbox WHERE done_at < ?", (now - INBOX_KEEP,))
