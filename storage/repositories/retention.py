"""Retention (issue 12): delete what is kept longer than needed (UU PDP 27/2022 asks no longer than the purpose).

Closed tickets with their messages, audit rows, and outbox deliveries in a final state, each older than its own
cutoff. Deleted in chunks of `RETENTION_CHUNK` rows, each chunk its own unit of work: SQLite's one writer (the bot
beside it) and PostgreSQL's row locks are held for milliseconds, never for the whole run. Written once for both
backends (storage/core.py).
"""

from __future__ import annotations

from storage.core import Repository, Unit, count, rows, unit
from storage.models import RetentionCounts, RetentionCutoffs

RETENTION_CHUNK = 2000  # rows per delete; ids in the SQL stay well under SQLite's 32,766 parameters
FINISHED = "('sent', 'failed', 'blocked', 'cancelled')"  # delivery states no sender touches again
OLD_TICKETS = "FROM tickets WHERE state = 'closed' AND closed_at < ?"
OLD_AUDIT = "FROM audit_log WHERE at < ?"
# A finished delivery's time: when it was sent, else its last attempt (failed, blocked, cancelled).
OLD_DELIVERIES = f"FROM deliveries WHERE state IN {FINISHED} AND coalesce(sent_at, next_attempt_at) < ?"


class RetentionRepository(Repository):
    async def counts(self, cutoffs: RetentionCutoffs) -> RetentionCounts:
        """What `purge` would delete now (the dry run)."""
        row = await self._db.fetchone(
            f"SELECT (SELECT count(*) {OLD_TICKETS}) AS tickets,"
            f" (SELECT count(*) FROM ticket_messages WHERE ticket_id IN (SELECT id {OLD_TICKETS})) AS messages,"
            f" (SELECT count(*) {OLD_AUDIT}) AS audit, (SELECT count(*) {OLD_DELIVERIES}) AS deliveries",
            (cutoffs.tickets, cutoffs.tickets, cutoffs.audit, cutoffs.deliveries),
        )
        return RetentionCounts(int(row["tickets"]), int(row["messages"]), int(row["audit"]), int(row["deliveries"]))

    async def purge(self, cutoffs: RetentionCutoffs) -> RetentionCounts:
        """Delete everything older than its cutoff, chunk by chunk; return how many rows went."""
        tickets = messages = 0
        while True:
            done, gone = await self._tickets_chunk(cutoffs)
            tickets, messages = tickets + done, messages + gone
            if done < RETENTION_CHUNK:
                break
        audit = await self._chunks("audit_log", OLD_AUDIT, cutoffs.audit)
        deliveries = await self._chunks("deliveries", OLD_DELIVERIES, cutoffs.deliveries)
        return RetentionCounts(tickets, messages, audit, deliveries)

    @unit
    def _tickets_chunk(self, cutoffs: RetentionCutoffs) -> Unit[tuple[int, int]]:
        found = yield rows(f"SELECT id {OLD_TICKETS} ORDER BY id LIMIT ?", (cutoffs.tickets, RETENTION_CHUNK))
        if not found:
            return 0, 0
        where, params = self._d.isin("ticket_id", [r["id"] for r in found], "bigint")
        messages = yield count(f"DELETE FROM ticket_messages WHERE {where}", params)
        where, params = self._d.isin("id", [r["id"] for r in found], "bigint")
        tickets = yield count(f"DELETE FROM tickets WHERE {where}", params)
        return tickets, messages

    async def _chunks(self, table: str, old: str, cutoff: object) -> int:
        removed = 0
        while True:
            done = await self._db.execute(f"DELETE FROM {table} WHERE id IN (SELECT id {old} ORDER BY id LIMIT ?)",
                                          (cutoff, RETENTION_CHUNK))
            removed += done
            if done < RETENTION_CHUNK:
                return removed
