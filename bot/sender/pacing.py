"""Pacing of the broadcast path: a token bucket per channel and a minimum spacing per chat.

The bucket refills at `rate / (1 + guard)` (guard 4 %: 96.2 % of the cap). Before a claim the sender waits for
`gather` tokens (one below 250 msg/s, ~4 ms of refill above), and the bucket keeps `credit` (5 ms) of refill above
that: a dispatch loop or timer that runs a few milliseconds late finds those milliseconds' tokens still there, instead
of the bucket having overflowed (with a one-token bucket every late wake-up lost its lateness: at 30 msg/s ~3 % of
the rate). Starts in any window of `1 + jitter` seconds then number at most `gather + refill * (1 + jitter + credit)`,
within the cap for a jitter of up to ~35 ms at 30 msg/s and ~33 ms at 1,000 msg/s: a send that reaches the platform's
counter that much later than one sent a second after it does not push that second over the cap.
A 429 pauses the bucket for `retry_after`: only this channel's broadcast path waits; applicants' answers go through
the channel's own Bot and are never queued here.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

PACING_GUARD = 0.04  # the refill's slack under the cap: room for the credit and ~35 ms of jitter
PACING_CREDIT = 0.005  # seconds of refill the bucket keeps above `gather` (late wake-ups lose nothing up to this)
# Seconds of refill gathered before the sender claims: at 1,000 msg/s it claims 3-4 deliveries a round trip, not
# one (a claim costs the database about what three sends' records cost); below 250 msg/s it is one token.
PACING_GATHER = 0.004
CHAT_GUARD = 0.05  # per chat: 1.05 s between two messages to one chat when the platform says 1 s
PRUNE_AT = 10_000  # forget chats whose spacing has passed once this many are remembered

Clock = Callable[[], float]


class TokenBucket:
    def __init__(self, rate: float | None, guard: float = PACING_GUARD, credit: float = PACING_CREDIT,
                 gather: float = PACING_GATHER, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        if rate is None:  # the transport paces itself
            self.refill, self.capacity = math.inf, math.inf
            self.gather = 1
        else:
            self.refill = rate / (1 + guard)
            self.gather = max(1, int(self.refill * gather))
            self.capacity = self.gather + self.refill * credit  # the credit counts above what a claim waits for
        self._tokens = min(self.capacity, 1.0)
        self._updated = clock()
        self.paused_until = 0.0

    def _fill(self, now: float) -> None:
        if math.isinf(self.refill):
            self._tokens = math.inf
        else:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.refill)
        self._updated = now

    def wait_time(self, least: int = 1) -> float:
        """Seconds until at least `least` tokens are there (0 now)."""
        now = self._clock()
        self._fill(now)
        if now < self.paused_until:
            return self.paused_until - now
        if self._tokens >= least:
            return 0.0
        return (least - self._tokens) / self.refill

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
        """Wait for `gather` tokens (fewer if `most` is less; or `stop`) and take up to `most`; 0 when stopped."""
        least = max(1, min(most, self.gather))
        while not stop.is_set():
            wait = self.wait_time(least)
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

    def __init__(self, interval: float, guard: float = CHAT_GUARD, clock: Clock = time.monotonic) -> None:
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
