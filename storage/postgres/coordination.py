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

Rate budget (the platform's rate holds for the sum of all senders): a token bucket row per channel, refilled
from the database's clock and taken from in one atomic UPDATE, so senders on several machines share one budget
without trusting each other's clocks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from storage.postgres.database import DATABASE_ERRORS, Database
from storage.sqlite.database import StorageError

log = logging.getLogger(__name__)

TURN_WAIT_S = 10.0  # longer than any handling: a predecessor not served by then is taken as lost
TURN_POLL_S = (0.002, 0.05)  # first and longest pause between looks at whose turn it is


class ChatTurns:
    shared = True  # the turns order updates across processes

    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, channel: str, chat: str) -> int | None:
        """The chat's next ticket (1, 2, ...): call before acknowledging the update to the platform."""
        return int(await self._db.fetchval(
            "INSERT INTO chat_turns AS t (channel, chat, issued) VALUES ($1, $2, 1) ON CONFLICT (channel, chat)"
            " DO UPDATE SET issued = t.issued + 1 RETURNING issued",
            (channel, chat),
        ))

    @asynccontextmanager
    async def hold(self, channel: str, chat: str, ticket: int | None = None) -> AsyncIterator[None]:
        """Hold the chat's lock, after the updates with earlier tickets, for the block (`ticket` None: lock only)."""
        async with self._db.bind() as conn:
            try:
                key = await self._wait_turn(conn, channel, chat, ticket)
            except DATABASE_ERRORS as exc:
                raise StorageError(str(exc)) from exc
            try:
                yield
            finally:
                try:
                    if ticket is not None:
                        await conn.execute(
                            "UPDATE chat_turns SET served = greatest(served, $3), served_at = now()"
                            " WHERE channel = $1 AND chat = $2", channel, chat, ticket,
                        )
                finally:
                    # If this fails the connection is broken: the server ends its session and so the lock.
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)

    @staticmethod
    async def _wait_turn(conn: asyncpg.Connection, channel: str, chat: str, ticket: int | None) -> int:
        """Take the chat's advisory lock once the ticket before `ticket` is served; the lock's key."""
        key = int(await conn.fetchval("SELECT hashtextextended($1, 0)", f"{channel}:{chat}"))
        deadline = time.monotonic() + TURN_WAIT_S
        pause = TURN_POLL_S[0]
        while True:
            await conn.execute("SELECT pg_advisory_lock($1)", key)
            if ticket is None:
                return key
            served = await conn.fetchval("SELECT served FROM chat_turns WHERE channel = $1 AND chat = $2",
                                         channel, chat)
            if served is None or served >= ticket - 1:
                return key
            if time.monotonic() > deadline:
                log.warning("chat %s:%s: update %d waited %.0f s for update %d, which was lost; going on",
                            channel, chat, ticket, TURN_WAIT_S, served + 1)
                return key
            await conn.execute("SELECT pg_advisory_unlock($1)", key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, TURN_POLL_S[1])


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
            "WITH s AS (SELECT least($4::float8, tokens + greatest(extract(epoch FROM now() - updated_at)::float8,"
            "  0) * $3::float8) AS avail, paused_until FROM rate_budget WHERE channel = $1 FOR UPDATE),"
            " g AS (SELECT avail, paused_until, CASE WHEN paused_until > now() THEN 0"
            "  ELSE least($2::int, floor(avail)::int) END AS n FROM s)"
            " UPDATE rate_budget b SET tokens = g.avail - g.n, updated_at = now() FROM g WHERE b.channel = $1"
            " RETURNING g.n, g.avail, greatest(extract(epoch FROM g.paused_until - now())::float8, 0) AS paused",
            (channel, most, rate, capacity),
        )
        assert row is not None
        taken = int(row["n"])
        if taken:
            return taken, 0.0
        wait = row["paused"] if row["paused"] > 0 else (1 - row["avail"]) / rate
        return 0, max(wait, 0.001)

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
