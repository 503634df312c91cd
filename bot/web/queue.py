"""Background work after the webhook answered: bounded concurrency, one chat's jobs in order.

Jobs with the same key (a chat) run one after another in arrival order; jobs of different keys run on up to
`workers` tasks at once. At most `max_pending` jobs wait: past that `submit` says no and the web server answers
503, so the platform delivers the update again later instead of the process growing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
T = TypeVar("T")
DEFAULT_WORKERS = 32
DEFAULT_MAX_PENDING = 10_000


class KeyedQueue:
    def __init__(self, workers: int = DEFAULT_WORKERS, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self._chains: dict[str, deque[Job]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, key: str, job: Job, *, force: bool = False) -> bool:
        """Queue `job` after the other jobs of `key`; False when the queue is full (unless `force`: a job whose
        update is stored already, its room checked before storing it)."""
        if self._pending >= self.max_pending and not force:
            return False
        self._pending += 1
        self._idle.clear()
        chain = self._chains.get(key)
        if chain is None:
            self._chains[key] = deque([job])
            self._ready.put_nowait(key)
        else:
            chain.append(job)
        return True

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._work(), name=f"webhook-worker-{i}") for i in range(self.workers)]

    async def join(self) -> None:
        """Wait until every queued job has run."""
        await self._idle.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """Let queued jobs finish (up to `grace` seconds), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.join(), grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            chain = self._chains[key]
            while chain:
                try:
                    await chain[0]()
                except Exception:
                    log.exception("background job failed")
                finally:
                    chain.popleft()
                    self._pending -= 1
            del self._chains[key]
            if self._pending == 0:
                self._idle.set()


class Batch(Generic[T]):
    """Items written together: one job on `queue` (under `key`) takes every item that came in until it ran.

    While a write is on its way, new items gather for the next one, so under load a handful of writes carry
    hundreds of items, and alone an item is written at once. The items stay in arrival order. The queue's
    `join` waits for them too; at most `max_items` wait (past that `add` says no: the server answers 503).
    """

    def __init__(self, queue: KeyedQueue, key: str, write: Callable[[Sequence[T]], Awaitable[None]],
                 max_items: int = DEFAULT_MAX_PENDING) -> None:
        self.queue, self.key, self.write, self.max_items = queue, key, write, max_items
        self._items: list[T] = []

    @property
    def pending(self) -> int:
        return len(self._items)

    def add(self, items: Sequence[T]) -> bool:
        """Queue `items` for the next write; False when too many wait already (or the queue is full)."""
        if not items:
            return True
        if len(self._items) + len(items) > self.max_items:
            return False
        if not self._items and not self.queue.submit(self.key, self._write):  # no write waits for these yet
            return False
        self._items.extend(items)
        return True

    async def _write(self) -> None:
        items, self._items = self._items, []
        await self.write(items)
