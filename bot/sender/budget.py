"""The rate budget shared by several sender processes (PostgreSQL), with the interface of `TokenBucket`.

One sender paces itself with its in-memory `TokenBucket`. With several senders (on one machine or many) each
bucket would allow the full rate and together they would exceed the platform's limit, so on PostgreSQL the
tokens come from one bucket row per channel (`storage.budget`, see storage/postgres/coordination.py) with the
a burst of ~5 % of the cap and a slower refill (`SHARED_GUARD`): in any one-second window fewer than `rate`
messages start, summed over all senders. A 429 pauses every sender of the channel, not only the one that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from bot.sender.pacing import TokenBucket
from bot.sender.transport import Transport
from storage import Storage, StorageError
from storage.interface import RateBudget

log = logging.getLogger(__name__)

# Senders in several processes (machines) reach the platform with more spread in time than one process's sends:
# the shared bucket refills at the cap / 1.10 and holds at most `SHARED_BURST` of the cap, so in any one-second
# window the tokens handed out stay 4-6 % under the cap, room for sends granted earlier arriving late.
SHARED_GUARD = 0.10
MAX_WAIT = 0.5  # seconds between two looks at the shared bucket when it is empty (or the database is not there)
SHARED_BURST = 0.05 / 1.05  # of the cap: the tokens the shared bucket holds at most (~5 %, rounded down)


class SharedBucket:
    def __init__(self, budget: RateBudget, channel: str, rate: float, guard: float = SHARED_GUARD) -> None:
        self.budget = budget
        self.channel = channel
        self.rate = rate
        self.refill = rate / (1 + guard)
        self.capacity = float(max(1, math.floor(rate * SHARED_BURST)))
        self.paused_until = 0.0
        self._writes: set[asyncio.Task[None]] = set()

    async def acquire(self, most: int, stop: asyncio.Event) -> int:
        """Wait for at least one token of the shared budget (or `stop`) and take up to `most`; 0 when stopped."""
        while not stop.is_set():
            wait = self.paused_until - time.monotonic()
            if wait <= 0:
                try:
                    taken, wait = await self.budget.take(self.channel, most, self.refill, self.capacity)
                except StorageError as exc:
                    log.warning("shared rate budget unreachable (%s): waiting", exc)
                    taken, wait = 0, MAX_WAIT
                if taken:
                    return taken
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait, MAX_WAIT)):
                    await stop.wait()
        return 0

    def give_back(self, n: int) -> None:
        """Tokens taken but not used go back to the shared bucket (written in the background)."""
        if n > 0:
            self._write(self.budget.give_back(self.channel, n, self.capacity))

    def pause(self, seconds: float) -> None:
        """Every sender of this channel waits `seconds` (a 429's retry_after); this one from now on."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self._write(self.budget.pause(self.channel, seconds))

    def _write(self, write: object) -> None:
        async def run() -> None:
            try:
                await write  # type: ignore[misc]
            except StorageError as exc:
                log.warning("shared rate budget not updated: %s", exc)

        task = asyncio.get_running_loop().create_task(run())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


def bucket_for(storage: Storage, transport: Transport) -> TokenBucket | SharedBucket:
    """The shared budget when the storage has one (PostgreSQL) and the transport leaves pacing to the sender."""
    if storage.budget is not None and transport.rate is not None:
        return SharedBucket(storage.budget, transport.channel.value, transport.rate)
    return TokenBucket(transport.rate)
