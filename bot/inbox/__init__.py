"""The durable inbox (issue 14.3; docs/design-notes.md note 22).

Nothing a platform was told we received may be lost: each update is stored (sealed, seal.py) before the webhook's
200 and before the polling offset moves past it, handled from there, and marked done after its handling, when its
payload is dropped. At a start the updates stored and not done are handled first, in the order they came, so every
acknowledged update is handled once, in each chat's order. A store that cannot be written refuses the update: the
webhook answers 503 (the platform delivers it again), polling leaves the offset where it was.

`Inbox` is one channel's: `accept` stores a batch (one statement for a webhook's messages or a getUpdates answer,
and the SQLite layer batches the statements of concurrent webhooks), `done` marks handled updates together (one
statement for all those that finished while the previous one was written), `take_over` takes what a crash left.

Several `serve` processes on PostgreSQL: every row is stored owned by its process (`OWNER`) with a lease of `LEASE_S`
that the process renews every `RENEW_EVERY_S` while it runs (bot/inbox/serving.py); a row not done whose lease ran
out belonged to a process that died, and the first process to look (at its start, then every `RENEW_EVERY_S`) takes
it over. LEASE_S + RENEW_EVERY_S stays under the chat turns' TURN_WAIT_S (storage/postgres/coordination.py): the
chat's next update, in another process, still waits for the taken-over one rather than going first.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.inbox.seal import Seal
from storage import Storage, StorageError

log = logging.getLogger(__name__)

RETRY_DONE_S = 1.0  # marking done failed (the database): try again after this
LEASE_S = 5.0  # a row not done is its process's for this long after the process last said it was alive
RENEW_EVERY_S = 1.0  # how often a process renews its rows' lease and looks for rows of dead processes
OWNER = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"  # this process, as the rows it owns name it


class Inbox:
    def __init__(self, storage: Storage, channel: str, secret: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage, self.channel, self.clock = storage, channel, clock
        self.owner = OWNER
        self.seal = Seal(secret)
        self.failing = False  # the last store failed (disk full, read-only, locked): /healthz says so
        self._done: list[str] = []
        self._writing: asyncio.Task[None] | None = None

    async def accept(self, updates: Sequence[tuple[str, bytes]]) -> set[str]:
        """Store `(update id, payload)` pairs; the ids stored now (the rest were stored before: redeliveries).
        StorageError when the database cannot be written: nothing may be acknowledged then."""
        sealed = [(update_id, self.seal.close(payload)) for update_id, payload in updates]
        try:
            now = self.clock()
            stored = await self.storage.inbox.accept(self.channel, sealed, now, self.owner, lease_until(now))
        except StorageError as exc:
            if not self.failing:
                log.error("the %s inbox cannot be written (%s): updates are refused until it can", self.channel, exc)
            self.failing = True
            raise
        if self.failing:
            log.warning("the %s inbox is written again", self.channel)
        self.failing = False
        return stored

    def done(self, update_id: str) -> None:
        """`update_id` was handled: marked so (and its payload dropped) with the others that finish meanwhile."""
        self._done.append(update_id)
        if self._writing is None:  # in a context of its own: not on the connection a chat's turn bound to the caller
            self._writing = asyncio.create_task(self._write_done(), name=f"{self.channel}-inbox-done",
                                                context=contextvars.Context())

    async def _write_done(self) -> None:
        try:
            while self._done:
                ids, self._done = self._done, []
                try:
                    await self.storage.inbox.done(self.channel, ids, self.clock())
                except StorageError as exc:
                    log.warning("marking %d %s updates handled failed (%s): trying again", len(ids), self.channel, exc)
                    self._done[:0] = ids
                    await asyncio.sleep(RETRY_DONE_S)
        finally:
            self._writing = None

    async def drain(self, grace: float = 5.0) -> None:
        """Wait (up to `grace` seconds) until every update reported done is marked so."""
        writing = self._writing
        if writing is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(writing), grace)

    async def take_over(self, *, everything: bool = False) -> list[tuple[str, bytes, int | None]]:
        """The updates stored and not handled whose process died (its lease ran out; `everything`: all of them, at
        the start of the only process), now this process's, in the order they came: (id, payload, chat turn).
        One that cannot be opened (NIK_PEPPER changed since) is logged and marked done."""
        found: list[tuple[str, bytes, int | None]] = []
        now = self.clock()
        for entry in await self.storage.inbox.take_over(self.channel, self.owner, now, lease_until(now),
                                                        everything=everything):
            payload = self.seal.open(entry.payload) if entry.payload is not None else None
            if payload is None:
                log.error("%s update %s in the inbox cannot be opened (was NIK_PEPPER changed?): skipped",
                          self.channel, entry.update_id)
                self.done(entry.update_id)
                continue
            found.append((entry.update_id, payload, entry.turn))
        if found:
            log.warning("%d %s updates stored but not handled before (a crash?): handling them now", len(found),
                        self.channel)
        return found


def lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=LEASE_S)
