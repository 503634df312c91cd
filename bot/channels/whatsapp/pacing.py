"""Sending pace: the business number's throughput (messages per second) and one message per 6 s per user.

Both live in one process's memory: after a restart a user may get one message sooner than 6 s after the last,
which WhatsApp tolerates (short bursts are allowed; error 131056 says when not, and is retried).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.channels.whatsapp.limits import DEFAULT_THROUGHPUT_PER_S, PAIR_RATE_INTERVAL_S

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
PRUNE_AT = 10_000  # forget users whose spacing has passed once this many are remembered


class RateLimiter:
    """Evenly spaced send slots: `rate` per second over all senders of the process."""

    def __init__(self, rate: float = DEFAULT_THROUGHPUT_PER_S, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # waiters take the slots in arrival order
            now = self._clock()
            if self._next > now:
                await self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


class Pacer:
    """The throughput limiter plus the per-user spacing that Meta's pair rate limit asks for."""

    def __init__(self, rate: float = DEFAULT_THROUGHPUT_PER_S, pair_interval: float = PAIR_RATE_INTERVAL_S, *,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        self.pair_interval = pair_interval
        self._clock = clock
        self._last: dict[str, float] = {}

    async def slot(self, user: str) -> None:
        """Wait for a throughput slot and note the send to `user`."""
        await self.limiter.acquire()
        self._last[user] = self._clock()
        if len(self._last) > PRUNE_AT:
            horizon = self._clock() - self.pair_interval
            self._last = {u: t for u, t in self._last.items() if t > horizon}

    def wait_for(self, user: str) -> float:
        """Seconds until `user` may get an unprompted message (0 when now)."""
        last = self._last.get(user)
        return 0.0 if last is None else max(0.0, last + self.pair_interval - self._clock())
