"""Pacing of the broadcast path: a token bucket per channel and a minimum spacing per chat.

The bucket refills at `rate / (1 + guard)` and holds at most `rate * guard / (1 + guard)` tokens (at least one),
so that in any one-second window at most `rate` messages start, with `guard` (5 %) of slack for network jitter
between us and the platform's counter. A 429 pauses the bucket for `retry_after`: only this channel's
broadcast path waits; applicants' answers go through the channel's own Bot and are never queued here.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

PACING_GUARD = 0.05
PRUNE_AT = 10_000  # forget chats whose spacing has passed once this many are remembered

Clock = Callable[[], float]


class TokenBucket:
    def __init__(self, rate: float | None, guard: float = PACING_GUARD, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        if rate is None:  # the transport paces itself
            self.refill, self.capacity = math.inf, math.inf
        else:
            self.refill = rate / (1 + guard)
            self.capacity = float(max(1, math.floor(rate * guard / (1 + guard))))
        self._tokens = min(self.capacity, 1.0)
        self._updated = clock()
        self.paused_until = 0.0

    def _fill(self, now: float) -> None:
        if math.isinf(self.refill):
            self._tokens = math.inf
        else:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.refill)
        self._updated = now

    def wait_time(self) -> float:
        """Seconds until at least one token is there (0 now)."""
        now = self._clock()
        self._fill(now)
        if now < self.paused_until:
            return self.paused_until - now
        if self._tokens >= 1:
            return 0.0
        return (1 - self._tokens) / self.refill

    def take(self, most: int) -> int:
        """Take up to `most` whole tokens that are there now (possibly 0)."""
        now = self._clock()
        self._fill(now)
        if now < self.paused_until:
            return 0
        n = most if math.isinf(self._tokens) else int(min(most, math.floor(self._tokens)))
        self._tokens -= n
        return n

    def give_back(self, n: int) -> None:
        if n > 0:
            self._tokens = min(self.capacity, self._tokens + n)

    def pause(self, seconds: float) -> None:
        """Send nothing on this channel for `seconds` (a 429's retry_after)."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 0.0)

    async def acquire(self, most: int, stop: asyncio.Event) -> int:
        """Wait for at least one token (or `stop`) and take up to `most`; 0 when stopped."""
        while not stop.is_set():
            wait = self.wait_time()
            if wait <= 0:
                taken = self.take(most)
                if taken:
                    return taken
                wait = 1 / self.refill if not math.isinf(self.refill) else 0.001
            try:
                async with asyncio.timeout(wait):
                    await stop.wait()
            except TimeoutError:
                pass
        return 0


class ChatSpacing:
    """At most one message per `interval` seconds to one chat (Telegram: 1 per second)."""

    def __init__(self, interval: float, guard: float = PACING_GUARD, clock: Clock = time.monotonic) -> None:
        self.interval = interval * (1 + guard) if interval else 0.0
        self._clock = clock
        self._next: dict[str, float] = {}

    def wait_for(self, chat: str) -> float:
        return max(0.0, self._next.get(chat, 0.0) - self._clock())

    def note(self, chat: str) -> None:
        if not self.interval:
            return
        now = self._clock()
        self._next[chat] = now + self.interval
        if len(self._next) > PRUNE_AT:
            self._next = {c: at for c, at in self._next.items() if at > now}
