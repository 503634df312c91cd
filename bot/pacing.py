"""Pacing: one token bucket for every rate the bot keeps, and a minimum spacing per chat.

`TokenBucket` serves them all:
- the outbox sender's lanes (`acquire`: wait for tokens, claim, send);
- answers to users, which take their token ahead of the lanes (`reserve`: answers first);
- WhatsApp's number throughput (`wait_slot`: evenly spaced slots in arrival order, shared by replies and sends);
- the support desk's ~20 messages a minute into one group (`TokenBucket.window`).
`send_budget(token, rate)` is the one budget of a bot token in this process: Telegram counts every message of the
bot, answers and broadcasts alike, so both debit it (bot/channels/telegram/delivery.py, topics.py and the sender).
On PostgreSQL the tokens answers take are also reported to the senders' shared row (bot/sender/budget.py).

Pacing of the broadcast path: the bucket refills at `rate / (1 + guard)` (guard 4 %: 96.2 % of the cap). Before a
claim the sender waits for `gather` tokens (one below 250 msg/s, ~4 ms of refill above), and the bucket keeps
`credit` (5 ms) of refill above that: a dispatch loop or timer that runs a few milliseconds late finds those
milliseconds' tokens still there, instead of the bucket having overflowed (with a one-token bucket every late wake-up
lost its lateness: at 30 msg/s ~3 % of the rate). Starts in any window of `1 + jitter` seconds then number at most
`gather + refill * (1 + jitter + credit)`, within the cap for a jitter of up to ~35 ms at 30 msg/s and ~33 ms at
1,000 msg/s: a send that reaches the platform's counter that much later than one sent a second after it does not push
that second over the cap.

Answers first: `reserve` takes the next token even before it has refilled (the bucket goes below zero) and says how
long until it is there; the sender waits for whole tokens above zero, so every reservation is served before the
broadcast takes the rest. An answer whose token is further away than it accepts goes at once, over budget (the
platform decides), and its token is owed: the broadcast waits for it. A 429 pauses the bucket for `retry_after`:
the broadcast path waits; answers are not held by a pause (their own 429 is waited out where they are sent).
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Awaitable, Callable

PACING_GUARD = 0.04  # the refill's slack under the cap: room for the credit and ~35 ms of jitter
PACING_CREDIT = 0.005  # seconds of refill the bucket keeps above `gather` (late wake-ups lose nothing up to this)
# Seconds of refill gathered before the sender claims: at 1,000 msg/s it claims 3-4 deliveries a round trip, not
# one (a claim costs the database about what three sends' records cost); below 250 msg/s it is one token.
PACING_GATHER = 0.004
CHAT_GUARD = 0.05  # per chat: 1.05 s between two messages to one chat when the platform says 1 s
PRUNE_AT = 10_000  # forget chats whose spacing has passed once this many are remembered
DEBT_S = 1.0  # seconds of refill answers may overspend beyond what they would wait for (one platform window)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    def __init__(self, rate: float | None, guard: float = PACING_GUARD, credit: float = PACING_CREDIT,
                 gather: float = PACING_GATHER, clock: Clock = time.monotonic, *, capacity: float | None = None
                 ) -> None:
        """`rate` per second (None: no limit); `capacity`: the burst, when not derived from `gather` and
        `credit` (with `guard=0, gather=0, credit=0`: one token, evenly spaced slots)."""
        self.rate = rate
        self._clock = clock
        if rate is None:  # the transport paces itself
            self.refill, self.capacity = math.inf, math.inf
            self.gather = 1
        else:
            self.refill = rate / (1 + guard)
            self.gather = max(1, int(self.refill * gather))
            # The credit counts above what a claim waits for.
            self.capacity = capacity if capacity is not None else self.gather + self.refill * credit
        self._tokens = min(self.capacity, 1.0)
        self._updated = clock()
        self.paused_until = 0.0
        self.reserved = 0  # tokens `reserve` has taken (answers), for a budget shared across processes to count
        self.on_reserve: Callable[[], None] | None = None  # told after each: bot/sender/budget.py `share_answers`

    @classmethod
    def window(cls, limit: int, seconds: float, burst: int, clock: Clock = time.monotonic) -> TokenBucket:
        """At most `limit` sends in any `seconds` (Telegram: ~20 a minute into one group): up to `burst` at once,
        the rest spread evenly. A window then holds at most burst + refill x seconds <= limit."""
        burst = max(1, min(burst, limit - 1))
        return cls(max(limit - burst, 1) / seconds, guard=0.0, clock=clock, capacity=burst)

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
        n = most if math.isinf(self._tokens) else int(min(most, math.floor(max(self._tokens, 0.0))))
        self._tokens -= n
        return n

    def reserve(self, most_wait: float = math.inf) -> float | None:
        """Take the next token ahead of `acquire`'s waiters, even before it has refilled: the seconds until it is
        there (0: now). Further away than `most_wait`: None, go now, over budget. The token is still taken (the
        broadcast owes what answers overspent), down to `DEBT_S` seconds of refill beyond `most_wait`: so under
        overload the bucket stays past the wait and every answer goes at once, none waits `most_wait` for a
        token that has just come back."""
        now = self._clock()
        self._fill(now)
        if math.isinf(self._tokens):
            return 0.0
        self.reserved += 1
        if self.on_reserve is not None:
            self.on_reserve()
        wait = max(0.0, (1 - self._tokens) / self.refill)
        if wait <= most_wait:
            self._tokens -= 1
            return wait
        self._tokens = max(self._tokens - 1, -self.refill * (most_wait + DEBT_S))
        return None

    async def wait_slot(self, sleep: Sleep = asyncio.sleep) -> None:
        """Wait for a token of one's own, in arrival order (each caller's reservation is the next one)."""
        wait = self.reserve()
        if wait:
            await sleep(wait)

    def give_back(self, n: int) -> None:
        if n > 0:
            self._tokens = min(self.capacity, self._tokens + n)

    def pause(self, seconds: float) -> None:
        """Send nothing on this channel's broadcast path for `seconds` (a 429's retry_after)."""
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


# One send budget per bot token per event loop (a process runs one; each test its own, so none leaks to the next).
_BUDGETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, TokenBucket]] = weakref.WeakKeyDictionary()


def send_budget(key: str, rate: float) -> TokenBucket:
    """The budget every message of bot `key` (its token) debits in this process: answers, broadcasts, the support
    desk. Made at `rate` by the first to ask (they all ask with the setting TELEGRAM_RATE)."""
    budgets = _BUDGETS.setdefault(asyncio.get_running_loop(), {})
    budget = budgets.get(key)
    if budget is None:
        budget = budgets[key] = TokenBucket(rate)
    return budget


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
