"""Sending pace: the business number's throughput (messages per second) and one message per 6 s per user.

Both live in one process's memory: after a restart a user may get one message sooner than 6 s after the last,
which WhatsApp tolerates (short bursts are allowed; error 131056 says when not, and is retried).
"""

from __future__ import annotations

import asyncio
import time

from bot.channels.whatsapp.limits import DEFAULT_THROUGHPUT_PER_S, PAIR_RATE_INTERVAL_S
from bot.pacing import ChatSpacing, Clock, Sleep, TokenBucket


class RateLimiter:
    """Evenly spaced send slots: `rate` per second over all senders of the process, in arrival order (a one-token
    bucket of bot/pacing.py, the pacing type every rate of the bot uses)."""

    def __init__(self, rate: float = DEFAULT_THROUGHPUT_PER_S, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = 1.0 / rate
        self._bucket = TokenBucket(rate, guard=0.0, credit=0.0, gather=0.0, clock=clock)
        self._sleep = sleep

    async def acquire(self) -> None:
        await self._bucket.wait_slot(self._sleep)


class Pacer:
    """The throughput limiter plus the per-user spacing that Meta's pair rate limit asks for."""

    def __init__(self, rate: float = DEFAULT_THROUGHPUT_PER_S, pair_interval: float = PAIR_RATE_INTERVAL_S, *,
                 clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        self.pair_interval = pair_interval
        self._spacing = ChatSpacing(pair_interval, guard=0.0, clock=clock)

    async def slot(self, user: str) -> None:
        """Wait for a throughput slot and note the send to `user`."""
        await self.limiter.acquire()
        self._spacing.note(user)

    def wait_for(self, user: str) -> float:
        """Seconds until `user` may get an unprompted message (0 when now)."""
        return self._spacing.wait_for(user)
