"""The rate budget shared by several sender processes (PostgreSQL), with the interface of `TokenBucket`.

Answers debit this process's budget of the bot (bot/pacing.py `send_budget`), which `SharedBucket` takes first
too. On PostgreSQL they also debit the shared row (`share_answers`), so the senders of every process leave room
for the answers of every process: an answer goes at once (its process's own budget decides, as on SQLite) and is
reported afterwards, in batches (at most one statement per `REPORT_S`), taking its token whatever the row's
balance (`RateBudget.debit`, down to `ANSWER_DEBT_S` of refill below zero); the senders take only tokens above zero,
so the broadcast waits until what answers spent is repaid (docs/design-notes.md, note 28).

One sender paces itself with its in-memory `TokenBucket`. With several senders (on one machine or many) each
bucket would allow the full rate and together they would exceed the platform's limit, so on PostgreSQL the
tokens come from one bucket row per channel (`storage.budget`, see storage/postgres/coordination.py) with the
a burst of ~5 % of the cap and a slower refill (`SHARED_GUARD`): in any one-second window fewer than `rate`
messages start, summed over all senders. A 429 pauses every sender of the channel, not only the one that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Awaitable

from bot.pacing import TokenBucket, send_budget
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
# Answers are reported to the shared row at most this long after they were sent: a sender elsewhere may take a
# token meanwhile, so a window can hold this long's answers too many (at 10 answers/s, a fifth of a message).
REPORT_S = 0.02
ANSWER_DEBT_S = 1.5  # seconds of refill the row may owe for answers (bot/pacing.py: ANSWER_MAX_WAIT + DEBT_S)


class SharedBucket:
    """`local`: this process's send budget of the same bot (bot/pacing.py `send_budget`), which its answers take
    first: a token of the shared row is used only with one of `local`'s."""

    def __init__(self, budget: RateBudget, channel: str, rate: float, guard: float = SHARED_GUARD,
                 local: TokenBucket | None = None) -> None:
        self.budget = budget
        self.channel = channel
        self.rate = rate
        self.refill = rate / (1 + guard)
        self.capacity = float(max(1, math.floor(rate * SHARED_BURST)))
        self._paused_until = 0.0
        self.local = local
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def paused_until(self) -> float:
        return max(self._paused_until, self.local.paused_until if self.local is not None else 0.0)

    async def acquire(self, most: int, stop: asyncio.Event) -> int:
        """Wait for at least one token of the shared budget (or `stop`) and take up to `most`; 0 when stopped."""
        while not stop.is_set():
            wait = self.paused_until - time.monotonic()
            if wait <= 0:
                wanted = most if self.local is None else await self.local.acquire(most, stop)
                if not wanted:
                    return 0
                try:
                    taken, wait = await self.budget.take(self.channel, wanted, self.refill, self.capacity)
                except StorageError as exc:
                    log.warning("shared rate budget unreachable (%s): waiting", exc)
                    taken, wait = 0, MAX_WAIT
                if self.local is not None:
                    self.local.give_back(wanted - taken)
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
            if self.local is not None:
                self.local.give_back(n)

    def pause(self, seconds: float) -> None:
        """Every sender of this channel waits `seconds` (a 429's retry_after); this one from now on."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        if self.local is not None:
            self.local.pause(seconds)
        self._write(self.budget.pause(self.channel, seconds))

    def _write(self, write: Awaitable[object]) -> None:
        async def run() -> None:
            try:
                await write
            except StorageError as exc:
                log.warning("shared rate budget not updated: %s", exc)

        task = asyncio.get_running_loop().create_task(run())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


class AnswerReport:
    """Reports the tokens a process's answers took from its budget (`TokenBucket.reserve`) to the shared row."""

    def __init__(self, local: TokenBucket, budget: RateBudget, channel: str, rate: float,
                 guard: float = SHARED_GUARD) -> None:
        self.local = local
        self.budget = budget
        self.channel = channel
        self.refill = rate / (1 + guard)  # the row's, as `SharedBucket` refills it
        self.capacity = float(max(1, math.floor(rate * SHARED_BURST)))
        self.reported = local.reserved
        self._due: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None
        local.on_reserve = self.wake

    def wake(self) -> None:
        """An answer took a token: report it (with the others of the next `REPORT_S`) unless a report is due."""
        if self._due is None and self._writing is None:
            # In a context of its own: the answer's may hold a connection bound to its task (a chat's turn).
            self._due = asyncio.get_running_loop().call_later(REPORT_S, self._report, context=contextvars.Context())

    def _report(self) -> None:
        self._due = None
        self._writing = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while (tokens := self.local.reserved - self.reported) > 0:
                self.reported += tokens
                await self.budget.debit(self.channel, tokens, self.refill, self.capacity,
                                        -self.refill * ANSWER_DEBT_S)
        except StorageError as exc:  # the answers went; the broadcast may then go over the cap: Telegram decides
            log.warning("answers not debited from the shared rate budget: %s", exc)
        finally:
            self._writing = None


def share_answers(local: TokenBucket, budget: RateBudget | None, channel: str) -> TokenBucket:
    """`local` (the bot's send budget in this process), its answers reported to `budget` (the senders' shared row,
    PostgreSQL) from now on; once per budget."""
    if budget is not None and local.on_reserve is None and local.rate is not None:
        AnswerReport(local, budget, channel, local.rate)
    return local


def bucket_for(storage: Storage, transport: Transport) -> TokenBucket | SharedBucket:
    """The lane's budget. A transport with a `budget_key` (Telegram: its bot token) paces with that bot's one send
    budget in this process, which answers take first (bot/pacing.py `send_budget`). On PostgreSQL (when the
    transport leaves pacing to the sender) the senders of every process also share a row of the database."""
    key = getattr(transport, "budget_key", None)
    local = send_budget(key, transport.rate) if key and transport.rate is not None else None
    if storage.budget is not None and transport.rate is not None:
        return SharedBucket(storage.budget, transport.channel.value, transport.rate, local=local)
    return local or TokenBucket(transport.rate)
