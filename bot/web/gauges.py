"""The database's figures for /metrics (outbox states, link failures and lock-outs, tickets), kept off the answers'
path (issue 15.4).

Each scrape used to count every delivery by state (`GROUP BY state`, 0.5 s at 2M rows) on the connection that
answers applicants: with 4-16 scrapers answers went from 0.06 s to 2-10 s. Now the figures are
- read on a database connection of their own (SQLite: a second connection, its own thread, reading beside the
  writer in WAL mode, at the lowest CPU priority; PostgreSQL: a pool of one), opened at the first scrape, so no
  answer queues behind them;
- read by one task at a time, whatever the number of scrapers, in the background: scrapes that come while a read
  runs get the figures of the read before (`prakerja_metrics_figures_age_seconds` says how old); and at most once
  per `max_age` seconds, which grows with the read's cost (`duty`: a read that takes 0.5 s is repeated at most
  every 50 s), so a pile of scrapers costs the database what one does. Even on its own connection and at the
  lowest priority a long count slows the answers beside it on a small machine (two CPUs that share a core's
  caches): it has to be rare, not only elsewhere.
The figures are read through the storage's own repositories (`metrics.counts`, `tickets.summary`), as before.
The counters kept in memory (updates, latencies, webhooks) are rendered fresh on every scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from storage import Storage, StorageError
from storage.interface import MetricCounts
from storage.models import TicketSummary

log = logging.getLogger(__name__)

FIGURES_NICE = 19  # the figures' database thread runs at the lowest CPU priority (Linux: per thread)
EXECUTOR_THREADS = ("ThreadPoolExecutor", "asyncio_")  # shared worker threads: never reniced
MIN_AGE_S = 15.0  # figures are at most this old when served (Prometheus scrapes every 15-60 s)
DUTY = 0.01  # at most this share of the time is spent reading them: age >= read time / DUTY
READ_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Figures:
    counts: MetricCounts | None  # None: the database could not be read this time
    tickets: TicketSummary | None
    read_at: float  # time.monotonic()
    seconds: float  # what the read cost


Read = Callable[[Storage], Awaitable[tuple[MetricCounts | None, TicketSummary | None]]]
Opener = Callable[[], Awaitable[Storage]]


class StoredGauges:
    def __init__(self, open_source: Opener, read: Read, *, min_age: float = MIN_AGE_S, duty: float = DUTY,
                 clock: Callable[[], float] = time.monotonic, keep_open: Storage | None = None,
                 serve_stale: bool = True) -> None:
        self.open_source = open_source
        self.serve_stale = serve_stale  # False: a scrape of old figures waits for the new ones (the tests' choice)
        self.keep_open = keep_open  # a storage `open_source` may return that is not ours to close
        self.read = read
        self.min_age = min_age
        self.duty = duty
        self.clock = clock
        self.reads = 0  # database reads done (the benchmark compares it with the scrapes)
        self._source: Storage | None = None
        self._cached: Figures | None = None
        self._reading: asyncio.Future[Figures] | None = None

    @property
    def max_age(self) -> float:
        cost = self._cached.seconds if self._cached else 0.0
        return max(self.min_age, cost / self.duty if self.duty else 0.0)

    async def figures(self) -> Figures:
        """The latest figures. Once they are older than `max_age` a new read starts (one at a time), and meanwhile
        scrapes get the figures they had: only the very first scrape waits for the database. (Scrapes waiting
        for a read would all be answered in one burst when it ends, holding up the answers queued behind it.)"""
        cached = self._cached
        if cached is not None and self.clock() - cached.read_at < self.max_age:
            return cached
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
        if cached is not None and self.serve_stale:
            return cached
        return await asyncio.shield(self._reading)  # a scraper that gives up does not cancel the others' read

    async def _read(self) -> Figures:
        start = self.clock()
        try:
            if self._source is None:
                self._source = await self.open_source()
            counts, tickets = await asyncio.wait_for(self.read(self._source), READ_TIMEOUT_S)
        except (StorageError, TimeoutError, OSError) as exc:
            log.warning("metrics: the database could not be read: %s", exc)
            counts, tickets = None, None
        finally:
            self._reading = None  # whatever happened, the next stale scrape starts a new read
        end = self.clock()
        self._cached = Figures(counts, tickets, end, end - start)
        self.reads += 1
        return self._cached

    async def settled(self) -> None:
        """Return once no read is in progress."""
        if self._reading is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._reading)

    async def close(self) -> None:
        await self.settled()
        if self._source is not None and self._source is not self.keep_open:
            await self._source.close()
        self._source = None


async def at_low_priority(open_source: Opener) -> Storage:
    """Open with `open_source`, and lower the CPU priority of the threads the opening started (SQLite's connection
    thread): on a busy machine a long count then waits for spare CPU instead of taking it from the answers. (On
    PostgreSQL the count runs in the server; no thread is started here.) Linux only: there `setpriority` on a
    thread id changes that thread alone."""
    before = {thread.ident for thread in threading.enumerate()}
    storage = await open_source()
    if sys.platform == "linux":
        for thread in threading.enumerate():
            if thread.ident not in before and thread.native_id and not thread.name.startswith(EXECUTOR_THREADS):
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, thread.native_id, FIGURES_NICE)
    return storage


def reader(since: Callable[[], datetime], now: Callable[[], datetime]) -> Read:
    """What /metrics reads from the database: the counts and the ticket summary (tickets since `since()`)."""

    async def read(storage: Storage) -> tuple[MetricCounts | None, TicketSummary | None]:
        counts: MetricCounts | None = None
        tickets: TicketSummary | None = None
        try:
            counts = await storage.metrics.counts(now())
        except StorageError:
            log.exception("metrics: counts unreadable")
        try:
            tickets = await storage.tickets.summary(since(), 0)
        except StorageError:
            log.exception("metrics: tickets unreadable")
        return counts, tickets

    return read
