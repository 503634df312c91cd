"""What several processes coordinate through PostgreSQL: a chat's turns, and the platform's rate budget.

Chat turns (one chat's updates in order, across processes):
    ticket = await turns.take("telegram", "42")        # in the webhook, before answering 200
    async with turns.hold("telegram", "42", ticket):   # around the update's handling and its replies
        ...
`take` hands out the chat's next ticket; Telegram sends a chat's next update only after the 200 for the previous
one, so tickets follow the platform's order even when consecutive updates reach different processes. `hold`
takes the chat's advisory lock (session level, on a connection it binds to the task: every statement of the
handling runs on it) and handles ticket N only once N-1 is served; if N-1 is not served within `TURN_WAIT_S` (its
process died after answering 200), the turn goes on without it. Other chats run in parallel: the lock is per chat.
A waiting update holds no connection: it sleeps until a NOTIFY says its chat's turn moved (sent only when a later
ticket was issued), looking again at least every `TURN_RECHECK_S` in case a notification was missed.

Rate budget (the platform's rate holds for the sum of all senders): a token bucket row per channel, refilled
from the database's clock and taken from in one atomic UPDATE, so senders on several machines share one budget
without trusting each other's clocks. Answers to users are sent first and debited afterwards, in batches (`debit`:
the balance may go below zero; the senders then wait until it is repaid).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.errors import StorageError
from storage.postgres.database import DATABASE_ERRORS, Database, lock_key

log = logging.getLogger(__name__)

# Longer than any handling: a predecessor not served by then is taken as lost. Also longer than an inbox lease and
# its sweep (bot/inbox/: LEASE_S + RENEW_EVERY_S): an update whose process died is taken over in its turn before.
TURN_WAIT_S = 10.0
TURN_RECHECK_S = 0.5  # a waiting update looks at its chat's turn at least this often (NOTIFY wakes it sooner)
TURNS_CHANNEL = "prakerja_turns"  # NOTIFY channel; the payload is "<channel>:<chat>" of a served turn


class ChatTurns:
    shared = True  # the turns order updates across processes

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[str, set[asyncio.Event]] = {}  # "<channel>:<chat>" -> its waiters in this process
        self._listening = False

    async def take(self, channel: str, chat: str, update_id: str | None = None) -> int | None:
        """The chat's next ticket (1, 2, ...): call before acknowledging the update to the platform. `update_id`:
        the update's row in the inbox keeps the ticket (in the same statement), so that a process taking the row
        over after a crash handles it in this turn (bot/inbox/)."""
        issue = ("INSERT INTO chat_turns AS t (channel, chat, issued) VALUES ($1, $2, 1) ON CONFLICT (channel, chat)"
                 " DO UPDATE SET issued = t.issued + 1 RETURNING issued")
        if update_id is None:
            return int(await self._db.fetchval(issue, (channel, chat)))
        return int(await self._db.fetchval(
            f"WITH t AS ({issue}), kept AS (UPDATE inbox SET turn = (SELECT issued FROM t) WHERE channel = $1"
            " AND update_id = $3) SELECT issued FROM t", (channel, chat, update_id)))

    @asynccontextmanager
    async def hold(self, channel: str, chat: str, ticket: int | None = None) -> AsyncIterator[None]:
        """Hold the chat's lock, after the updates with earlier tickets, for the block (`ticket` None: lock only)."""
        if ticket is not None:
            await self._wait_turn(channel, chat, ticket)  # holds no connection meanwhile
        key = lock_key(f"{channel}:{chat}")
        async with self._db.bind() as conn:
            try:
                # Ticket N-1 is served, but its process may still be between recording that and unlocking.
                await conn.execute("SELECT pg_advisory_lock($1)", key)
            except DATABASE_ERRORS as exc:
                raise StorageError(str(exc)) from exc
            try:
                yield
            finally:
                try:
                    if ticket is not None:  # and wake the next ticket's process, if one was issued
                        await conn.execute(
                            "WITH t AS (UPDATE chat_turns SET served = greatest(served, $3), served_at = now()"
                            " WHERE channel = $1 AND chat = $2 RETURNING issued)"
                            " SELECT pg_notify($4, $1 || ':' || $2) FROM t WHERE t.issued > $3",
                            channel, chat, ticket, TURNS_CHANNEL,
                        )
                finally:
                    # If this fails the connection is broken: the server ends its session and so the lock.
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def _wait_turn(self, channel: str, chat: str, ticket: int) -> None:
        """Return once the ticket before `ticket` is served (or was lost: waited `TURN_WAIT_S` for)."""
        name = f"{channel}:{chat}"
        woken = asyncio.Event()
        self._waiting.setdefault(name, set()).add(woken)
        try:
            await self._listen()
            deadline = time.monotonic() + TURN_WAIT_S
            while True:
                woken.clear()  # before looking: a NOTIFY from now on wakes the wait below
                served = await self._db.fetchval(
                    "SELECT served FROM chat_turns WHERE channel = $1 AND chat = $2", (channel, chat)
                )
                if served is None or served >= ticket - 1:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("chat %s: update %d waited %.0f s for update %d, which was lost; going on",
                                name, ticket, TURN_WAIT_S, served + 1)
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, TURN_RECHECK_S)):
                        await woken.wait()
        finally:
            waiters = self._waiting[name]
            waiters.discard(woken)
            if not waiters:
                del self._waiting[name]

    async def _listen(self) -> None:
        if not self._listening:
            self._listening = True  # one listener, however many updates wait for their first turn at once
            try:
                await self._db.listen(TURNS_CHANNEL, self._notified)
            except StorageError as exc:  # waiting still works, by looking every TURN_RECHECK_S
                self._listening = False
                log.warning("no notifications of chat turns (%s): polling", exc)

    def _notified(self, name: str) -> None:
        for woken in self._waiting.get(name, ()):
            woken.set()


class RateBudget:
    """A token bucket per channel in `rate_budget`, shared by every sender."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._known: set[str] = set()

    async def _ensure(self, channel: str) -> None:
        if channel not in self._known:
            await self._db.execute(
                "INSERT INTO rate_budget (channel, tokens, updated_at) VALUES ($1, 0, now()) ON CONFLICT DO NOTHING",
                (channel,),
            )
            self._known.add(channel)

    async def take(self, channel: str, most: int, rate: float, capacity: float) -> tuple[int, float]:
        """Take up to `most` whole tokens; (tokens taken, seconds to wait before asking again when none)."""
        await self._ensure(channel)
        row = await self._db.fetchone(
            # now() is when this statement started: if it waited for another sender's take, that one may have
            # stamped a later time, and the refill must not count the time between twice.
            "WITH s AS (SELECT least($4::float8, tokens + greatest(extract(epoch FROM now() - updated_at)::float8,"
            "  0) * $3::float8) AS avail, paused_until FROM rate_budget WHERE channel = $1 FOR UPDATE),"
            " g AS (SELECT avail, paused_until, CASE WHEN paused_until > now() THEN 0"
            "  ELSE least($2::int, greatest(floor(avail)::int, 0)) END AS n FROM s)"
            " UPDATE rate_budget b SET tokens = g.avail - g.n, updated_at = greatest(b.updated_at, now()) FROM g"
            " WHERE b.channel = $1"
            " RETURNING g.n, g.avail, greatest(extract(epoch FROM g.paused_until - now())::float8, 0) AS paused",
            (channel, most, rate, capacity),
        )
        assert row is not None
        taken = int(row["n"])
        if taken:
            return taken, 0.0
        wait = row["paused"] if row["paused"] > 0 else (1 - row["avail"]) / rate
        return 0, max(wait, 0.001)

    async def debit(self, channel: str, tokens: int, rate: float, capacity: float, floor: float) -> None:
        """Take `tokens` whatever the balance, down to `floor` (below 0: owed, the takers wait until it is
        repaid): messages another process already sent, answers first (bot/sender/budget.py `share_answers`)."""
        await self._ensure(channel)
        await self._db.execute(
            "UPDATE rate_budget SET tokens = greatest($5::float8, least($4::float8, tokens"
            " + greatest(extract(epoch FROM now() - updated_at)::float8, 0) * $3::float8) - $2::int),"
            " updated_at = greatest(updated_at, now()) WHERE channel = $1",
            (channel, tokens, rate, capacity, floor),
        )

    async def give_back(self, channel: str, tokens: int, capacity: float) -> None:
        await self._db.execute(
            "UPDATE rate_budget SET tokens = least($3::float8, tokens + $2) WHERE channel = $1",
            (channel, tokens, capacity),
        )

    async def pause(self, channel: str, seconds: float) -> None:
        """Every sender of `channel` stops for `seconds` (a 429's retry_after)."""
        await self._ensure(channel)
        await self._db.execute(
            "UPDATE rate_budget SET paused_until = greatest(paused_until, now() + make_interval(secs => $2)),"
            " tokens = least(tokens, 0) WHERE channel = $1",
            (channel, seconds),
        )
