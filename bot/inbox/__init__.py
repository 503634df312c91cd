"""The durable inbox (issue 14.3; docs/design-notes.md note 22).

Nothing a platform was told we received may be lost: each update is stored (sealed, seal.py) before the webhook's
200 and before the polling offset moves past it, handled from there, and marked done after its handling, when its
payload is dropped. At a start the updates stored and not done are handled first, in the order they came, so every
acknowledged update is handled once, in each chat's order. A store that cannot be written refuses the update: the
webhook answers 503 (the platform delivers it again), polling leaves the offset where it was.

`Inbox` is one channel's: `accept` stores a batch (one statement for a webhook's messages or a getUpdates answer,
and the SQLite layer batches the statements of concurrent webhooks), `done` marks handled updates together (one
statement for all those that finished while the previous one was written), `unfinished` reads what a crash left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.inbox.seal import Seal
from storage import Storage, StorageError

log = logging.getLogger(__name__)

RETRY_DONE_S = 1.0  # marking done failed (the database): try again after this


class Inbox:
    def __init__(self, storage: Storage, channel: str, secret: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage, self.channel, self.clock = storage, channel, clock
        self.seal = Seal(secret)
        self.failing = False  # the last store failed (disk full, read-only, locked): /healthz says so
        self._done: list[str] = []
        self._writing: asyncio.Task[None] | None = None

    async def accept(self, updates: Sequence[tuple[str, bytes]]) -> set[str]:
        """Store `(update id, payload)` pairs; the ids stored now (the rest were stored before: redeliveries).
        StorageError when the database cannot be written: nothing may be acknowledged then."""
        sealed = [(update_id, self.seal.close(payload)) for update_id, payload in updates]
        try:
            stored = await self.storage.inbox.accept(self.channel, sealed, self.clock())
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
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_done(), name=f"{self.channel}-inbox-done")

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

    async def unfinished(self) -> list[tuple[str, bytes]]:
        """The updates stored and not handled (a crash, a stop mid-way), in the order they came: (id, payload).
        One that cannot be opened (NIK_PEPPER changed since) is logged and marked done."""
        found: list[tuple[str, bytes]] = []
        for entry in await self.storage.inbox.unfinished(self.channel):
            payload = self.seal.open(entry.payload) if entry.payload is not None else None
            if payload is None:
                log.error("%s update %s in the inbox cannot be opened (was NIK_PEPPER changed?): skipped",
                          self.channel, entry.update_id)
                self.done(entry.update_id)
                continue
            found.append((entry.update_id, payload))
        if found:
            log.warning("%d %s updates stored but not handled before (a crash?): handling them now", len(found),
                        self.channel)
        return found
