"""The outbox worker: claims ready deliveries, sends them at the platform's pace, records each outcome.

One lane per transport (channel): a token bucket (the channel's rate), a spacing per chat, and at most
`concurrency` deliveries 'sending' at once. A claimer keeps a small backlog of claimed deliveries (the tokens of
the next few milliseconds' worth), so that a token never waits for a database round trip: the dispatch loop takes
tokens and starts the backlog's sends. The backlog counts against `concurrency`, is put back untried when a 429
pauses the lane or the sender stops, and a delivery older than a quarter of the lease in it is put back, not sent.

Crash safety: a delivery is 'sending' from its claim until its outcome is recorded (right after the platform
answers; deliveries sent are recorded by the claimer, every 'sent' that came in since its last trip, in the same
transaction as its next claim; a send keeps its slot until its row says 'sent', so at most `concurrency` deliveries
are ever 'sending').
If the process dies in between (kill -9), the platform may or may not have the message:
after `lease` seconds any sender puts such deliveries back to 'pending', flagged `ambiguous`, and sends them
again. We choose at-least-once for them: a missing result message is worse than a rare duplicate, and their
number is bounded by the concurrency (only in-flight sends can be ambiguous). Nothing recorded 'sent' is ever
sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.logs import mask_text
from bot.pacing import ChatSpacing, TokenBucket
from bot.sender.budget import SharedBucket, bucket_for
from bot.sender.transport import Outcome, OutcomeKind, Recipient, Transport
from handlers.admin import outbox_reply, staff_commands
from handlers.api import Event
from handlers.context import Services
from handlers.roles import Role
from storage import Storage, StorageError
from storage.models import Broadcast, BroadcastKind, Claim, DeliveryState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # transient failures (5xx, timeouts) before a delivery is given up as failed
BACKOFF_BASE = 2.0  # seconds; doubled per attempt, with jitter
BACKOFF_CAP = 300.0
MAX_BATCH = 50  # deliveries claimed at once (also bounded by free slots and the backlog's size)
CLAIM_AHEAD = 0.010  # seconds of tokens the backlog holds: a few claims' round trips on a busy machine
IDLE_POLL = 0.25  # seconds between claims when nothing is ready
HOUSEKEEPING_EVERY = 0.5
EXPAND_BUDGET = 0.2  # seconds of audience expansion per housekeeping round
RECORD_TRIES = 3
START_RETRY = 5.0  # seconds between attempts to reach a platform that did not answer at start
DRAIN_TIMEOUT = 15.0  # seconds to let in-flight sends finish at shutdown


@dataclass
class SenderStats:
    sent: int = 0
    throttled: int = 0  # 429 answers (retry_after obeyed)
    transient: int = 0  # 5xx / timeouts, retried with backoff
    failed: int = 0
    blocked: int = 0
    skipped: int = 0  # opted out or unlinked after queueing
    recovered: int = 0  # stale 'sending' deliveries put back (ambiguous: in flight when a sender died)


@dataclass
class Lane:
    transport: Transport
    bucket: TokenBucket | SharedBucket  # SharedBucket: several senders share the rate (PostgreSQL, issue 7)
    spacing: ChatSpacing
    in_flight: int = 0  # sends started and not yet recorded
    ready: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    backlog: deque[tuple[float, Claim]] = field(default_factory=deque)  # claimed, not started (monotonic time)
    ahead: int = 1  # the backlog the claimer keeps: the tokens of CLAIM_AHEAD seconds
    claimed: asyncio.Event = field(default_factory=asyncio.Event)  # the claimer added to the backlog
    wanted: asyncio.Event = field(default_factory=asyncio.Event)  # backlog shrank, slot freed, or a send to record
    sent: list[tuple[int, str | None]] = field(default_factory=list)  # sent, to record: (delivery id, message id)
    sent_written: asyncio.Future[None] | None = None  # done when `sent` (as it is now) is recorded
    claimer: asyncio.Task[None] | None = None


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts` (1-based): exponential, capped, with jitter (50-100 %)."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.5, 1.0)


class Sender:
    def __init__(
        self,
        storage: Storage,
        services: Services,
        transports: list[Transport],
        *,
        concurrency: int = 8,
        lease: float = 60.0,
        staff: dict[Role, list[tuple[str, str]]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.storage = storage
        self.services = services
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease)
        self.clock = clock
        self.stats = SenderStats()
        self.lanes = [Lane(t, bucket_for(storage, t), ChatSpacing(t.per_chat_interval)) for t in transports]
        for lane in self.lanes:
            refill = lane.bucket.refill
            lane.ahead = MAX_BATCH if math.isinf(refill) else max(1, min(MAX_BATCH, math.ceil(refill * CLAIM_AHEAD)))
        self._staff = staff or {}  # role -> principals "channel:user_id" from the settings (menus at start)
        self._broadcasts: dict[int, Broadcast] = {}

    def wake_after(self, event: Event, _seconds: float) -> None:
        """A router observer where the sender runs beside the handlers (`run`, `serve`): after an update from a
        group (staff answering in the support desk's topics), look at the outbox now rather than at the next poll,
        so a relayed answer leaves in milliseconds, not up to IDLE_POLL later. Applicants' private updates do not
        wake it: under load that would be one claim per update."""
        if not event.private:
            for lane in self.lanes:
                lane.wanted.set()

    # --- the loops ------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set, then let in-flight sends finish and record their outcomes."""
        recovered = await self.storage.outbox.recover_stale(self.clock() - self.lease)
        if recovered:
            self.stats.recovered += recovered
            log.warning("%d deliveries were in flight when a sender stopped: sending them again", recovered)
        loops = [asyncio.create_task(self._housekeeping(stop), name="sender-housekeeping")]
        loops += [asyncio.create_task(self._dispatch(lane, stop), name=f"sender-{lane.transport.channel}")
                  for lane in self.lanes]
        try:
            await asyncio.gather(*loops)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._drain()
            # Every send has been recorded (or given up): the claimers see `stop` and end; after an error, are ended.
            claimers = [lane.claimer for lane in self.lanes if lane.claimer is not None]
            for lane in self.lanes:
                lane.wanted.set()
            if claimers:
                _, still = await asyncio.wait(claimers, timeout=IDLE_POLL)
                for task in still:
                    task.cancel()
                await asyncio.gather(*claimers, return_exceptions=True)
            for lane in self.lanes:  # claimed, never started: pending again, not ambiguous
                await self._release_backlog(lane)

    async def _drain(self) -> None:
        pending = [task for lane in self.lanes for task in lane.tasks]
        if pending:
            _, still = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT)
            for task in still:  # left 'sending': recovered after the lease by the next sender
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)

    async def _start(self, lane: Lane, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            try:
                await lane.transport.start()
                lane.ready = True
                await self._menus_at_start(lane)
                await self._sync_menus()
                return True
            except Exception as exc:  # the platform is down or the token wrong: keep trying, loudly
                log.error("%s sender cannot start: %s", lane.transport.channel, mask_text(str(exc)))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(START_RETRY):
                    await stop.wait()
        return False

    async def _dispatch(self, lane: Lane, stop: asyncio.Event) -> None:
        if not await self._start(lane, stop):
            return
        lane.claimer = asyncio.create_task(self._claimer(lane, stop), name=f"sender-{lane.transport.channel}-db")
        while not stop.is_set():
            try:
                await self._dispatch_round(lane, stop)
            except Exception:  # a bug must not stop the other channels' lanes, nor this one for good
                log.exception("%s sender lane failed; going on", lane.transport.channel)
                await _wait(None, stop, IDLE_POLL)

    async def _claimer(self, lane: Lane, stop: asyncio.Event) -> None:
        """The lane's trips to the database: record the sends done since the last trip and keep `lane.ahead`
        deliveries claimed (within `concurrency` 'sending': backlog and sends in flight), both in one round trip.
        After `stop` it only records, until the last send is recorded."""
        channel = lane.transport.channel.value
        never = asyncio.Event()  # after `stop`, waits are for `wanted` alone
        while not stop.is_set() or lane.in_flight or lane.sent:
            paused = lane.bucket.paused_until - time.monotonic()
            room = 0 if stop.is_set() or paused > 0 else \
                min(self.concurrency - lane.in_flight, lane.ahead, MAX_BATCH) - len(lane.backlog)
            if room <= 0 and not lane.sent:
                lane.wanted.clear()
                await _wait(lane.wanted, never if stop.is_set() else stop, paused if paused > 0 else IDLE_POLL)
                continue
            sent, written = lane.sent, lane.sent_written
            lane.sent, lane.sent_written = [], None
            try:
                claims = await self._claim(channel, max(0, room), sent)
            finally:
                if written is not None and not written.done():
                    written.set_result(None)
            if claims:
                at = time.monotonic()
                lane.backlog.extend((at, claim) for claim in claims)
                lane.claimed.set()
            elif room > 0 and not sent:  # nothing ready: look again in a while, or when a send wants recording
                lane.wanted.clear()
                await _wait(lane.wanted, stop, IDLE_POLL)

    async def _claim(self, channel: str, limit: int, sent: list[tuple[int, str | None]]) -> list[Claim]:
        """One trip: record `sent` and claim up to `limit`. Retried while there are sends to record: a lost record
        means a delivery sent again after the lease."""
        for attempt in range(1, RECORD_TRIES + 1):
            try:
                return await self.storage.outbox.claim(channel, limit, self.clock(), sent)
            except StorageError as exc:
                if not sent:
                    log.warning("claiming deliveries failed: %s", exc)
                    return []
                log.warning("recording deliveries sent failed (%s), try %d of %d", exc, attempt, RECORD_TRIES)
                await asyncio.sleep(0.2 * attempt)
            except Exception:  # a bug must not stop the lane's trips for good
                log.exception("%s claims failed; going on", channel)
                return []
        log.error("%d deliveries sent were not recorded: they will be sent again after the lease", len(sent))
        return []

    async def _dispatch_round(self, lane: Lane, stop: asyncio.Event) -> None:
        """Take tokens for the backlog's deliveries and start sending them."""
        if not lane.backlog:
            lane.claimed.clear()
            await _wait(lane.claimed, stop, IDLE_POLL)
            return
        tokens = await lane.bucket.acquire(len(lane.backlog), stop)
        stale = time.monotonic() - self.lease.total_seconds() / 4
        while tokens and lane.backlog:
            claimed_at, claim = lane.backlog.popleft()
            wait = lane.spacing.wait_for(claim.chat.external_id)
            if wait > 0 or claimed_at < stale:  # the chat had a message less than a second ago, or the claim is old
                lane.wanted.set()
                later = timedelta(seconds=wait + 1) if wait > 0 else timedelta(0)
                await self._record(self.storage.outbox.release, claim.id, self.clock() + later)
                continue
            tokens -= 1
            lane.spacing.note(claim.chat.external_id)
            lane.in_flight += 1
            task = asyncio.create_task(self._send(lane, claim))
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)
        lane.bucket.give_back(tokens)
        lane.wanted.set()

    async def _release_backlog(self, lane: Lane, seconds: float = 0.0) -> None:
        """Put the lane's claimed, unsent deliveries back, untried (ready again in `seconds`)."""
        while lane.backlog:
            _, claim = lane.backlog.popleft()
            await self._record(self.storage.outbox.release, claim.id, self.clock() + timedelta(seconds=seconds))
        lane.wanted.set()

    async def _send(self, lane: Lane, claim: Claim) -> None:
        outbox = self.storage.outbox
        try:
            broadcast = await self._broadcast(claim.broadcast_id)
            chat = claim.chat
            skip = None
            if chat.blocked:
                skip = (DeliveryState.BLOCKED, "blocked")
            elif chat.opted_out and broadcast is not None and broadcast.kind is not BroadcastKind.NOTICE:
                skip = (DeliveryState.CANCELLED, "opted out")
            reply = outbox_reply(self.services, broadcast, claim) if broadcast and not skip else None
            if skip is None and reply is None:
                skip = (DeliveryState.CANCELLED, "no longer applies")
            if skip is not None:
                lane.bucket.give_back(1)
                self.stats.skipped += 1
                await self._record(outbox.skip, claim.id, *skip)
                return
            assert reply is not None and broadcast is not None
            recipient = Recipient(chat.external_id, chat.locale,
                                  broadcast.wave if broadcast.kind is BroadcastKind.RESULTS else None)
            try:
                # Well within the lease, so that no other sender takes a delivery this one is still sending.
                async with asyncio.timeout(self.lease.total_seconds() / 2):
                    outcome = await lane.transport.send(recipient, reply)
            except TimeoutError:
                outcome = Outcome.transient("no answer within half the lease", maybe_sent=True)
            except Exception as exc:  # a transport bug must not leave the delivery 'sending' until the lease
                log.exception("%s transport failed", lane.transport.channel)
                outcome = Outcome.transient(type(exc).__name__, maybe_sent=True)
            await self._outcome(lane, claim, broadcast, outcome)
        except Exception:
            log.exception("delivery %s could not be handled", claim.id)
        finally:
            lane.in_flight -= 1
            lane.wanted.set()

    async def _outcome(self, lane: Lane, claim: Claim, broadcast: Broadcast, outcome: Outcome) -> None:
        outbox = self.storage.outbox
        now = self.clock()
        match outcome.kind:
            case OutcomeKind.SENT:
                self.stats.sent += 1
                await self._record_sent(lane, claim.id, outcome.message_id)
            case OutcomeKind.RETRY:
                if outcome.throttled:
                    self.stats.throttled += 1
                    lane.bucket.pause(outcome.retry_after)
                    await self._release_backlog(lane, outcome.retry_after)
                    log.warning("%s asked to wait %.0f s (429): the broadcast path pauses, answers do not",
                                lane.transport.channel, outcome.retry_after)
                at = outcome.retry_at or now + timedelta(seconds=max(1.0, outcome.retry_after))
                await self._record(outbox.mark_retry, claim.id, at, outcome.error or "retry", attempt=False,
                                   throttled=broadcast.id if outcome.throttled else None)
            case OutcomeKind.BLOCKED:
                self.stats.blocked += 1
                await self._record(outbox.mark_blocked, claim.id, claim.chat.id, outcome.error or "blocked")
            case OutcomeKind.FAILED:
                self.stats.failed += 1
                log.warning("delivery %s failed: %s", claim.id, mask_text(outcome.error))
                await self._record(outbox.mark_failed, claim.id, outcome.error or "failed")
            case OutcomeKind.TRANSIENT:
                self.stats.transient += 1
                attempts = claim.attempts + 1
                if attempts >= MAX_ATTEMPTS:
                    self.stats.failed += 1
                    await self._record(outbox.mark_failed, claim.id, f"gave up: {outcome.error}")
                else:
                    at = now + timedelta(seconds=backoff(attempts))
                    await self._record(outbox.mark_retry, claim.id, at, outcome.error or "transient",
                                       attempt=True, ambiguous=outcome.maybe_sent)

    async def _record_sent(self, lane: Lane, delivery_id: int, message_id: str | None) -> None:
        """Hand a delivery sent to the lane's claimer; returns once its row says 'sent'."""
        if lane.sent_written is None:
            lane.sent_written = asyncio.get_running_loop().create_future()
        written = lane.sent_written
        lane.sent.append((delivery_id, message_id))
        lane.wanted.set()
        await asyncio.shield(written)  # a cancelled send must not cancel the others' wait

    async def _record(self, write: Callable[..., Awaitable[object]], *args: object, **kwargs: object) -> None:
        """Run one outcome write, retrying a busy database a few times (a lost write means an ambiguous send)."""
        for attempt in range(1, RECORD_TRIES + 1):
            try:
                await write(*args, **kwargs)
                return
            except StorageError as exc:
                log.warning("recording a delivery outcome failed (%s), try %d of %d", exc, attempt, RECORD_TRIES)
                await asyncio.sleep(0.2 * attempt)
        log.error("a delivery outcome was not recorded: it will be sent again after the lease")

    async def _broadcast(self, broadcast_id: int) -> Broadcast | None:
        broadcast = self._broadcasts.get(broadcast_id)
        if broadcast is None:
            broadcast = await self.storage.outbox.get(broadcast_id)
            if broadcast is not None:
                if len(self._broadcasts) > 1000:
                    self._broadcasts.clear()
                self._broadcasts[broadcast_id] = broadcast
        return broadcast

    # --- housekeeping -------------------------------------------------------------------------------------
    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.housekeeping_round()
            except StorageError:
                log.exception("sender housekeeping failed")
            await _wait(None, stop, HOUSEKEEPING_EVERY)

    async def housekeeping_round(self) -> None:
        outbox = self.storage.outbox
        now = self.clock()
        for broadcast_id in await outbox.start_due(now):
            log.info("scheduled broadcast %s starts", broadcast_id)
        deadline = time.monotonic() + EXPAND_BUDGET
        for broadcast_id in await outbox.expanding():
            while time.monotonic() < deadline:
                if await outbox.expand_step(broadcast_id):
                    break
                await asyncio.sleep(0)  # let the sends record their outcomes between chunks
        for broadcast_id in await outbox.finish(now):
            log.info("broadcast %s done", broadcast_id)
            self._broadcasts.pop(broadcast_id, None)
        await outbox.cancel_pending()
        recovered = await outbox.recover_stale(now - self.lease)
        if recovered:
            self.stats.recovered += recovered
            log.warning("%d deliveries were stuck 'sending' past the lease: sending them again", recovered)
        await self._sync_menus()

    async def _menus_at_start(self, lane: Lane) -> None:
        """Staff from the settings get their command menu each time the sender starts."""
        channel = lane.transport.channel
        for role, principals in self._staff.items():
            for channel_name, user_id in principals:
                if channel_name != channel.value:
                    continue
                chat = await self.storage.chats.find(channel_name, user_id)
                commands = staff_commands(role, chat.locale if chat else "id")
                try:
                    await lane.transport.set_menu(user_id, commands)
                except Exception as exc:  # e.g. the admin never opened the chat: their menu waits
                    log.info("staff menu for %s not set: %s", user_id, mask_text(str(exc)))

    async def _sync_menus(self) -> None:
        grants = await self.storage.roles.unsynced()
        if not grants:
            return
        lanes = {lane.transport.channel.value: lane for lane in self.lanes if lane.ready}
        for grant in grants:
            lane = lanes.get(grant.channel)
            if lane is None:
                continue
            role = Role(grant.role)
            chat = await self.storage.chats.find(grant.channel, grant.user_id)
            commands = staff_commands(role, chat.locale if chat else "id") or None
            try:
                done = await lane.transport.set_menu(grant.user_id, commands)
            except Exception as exc:
                log.info("staff menu for %s not set: %s", grant.user_id, mask_text(str(exc)))
                done = True  # a chat that cannot get a menu now is not retried every half second
            if done:
                await self.storage.roles.mark_synced(grant)


async def _wait(event: asyncio.Event | None, stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking early when `event` or `stop` is set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if event is not None:
        waiters.append(asyncio.ensure_future(event.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
