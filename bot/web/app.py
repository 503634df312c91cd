"""The web server: one Starlette app for the Telegram and WhatsApp webhooks, /healthz and /metrics.

Every webhook is authenticated before its body is read as JSON (Telegram: the secret token header; WhatsApp: the
HMAC of the raw body with the app secret), stored in the durable inbox (bot/inbox/: redeliveries dropped by id
there, also after a restart; a database that cannot be written gets 503), answered, and handled afterwards (one chat
in order, chats concurrently); what a crash left in the inbox is handled first at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels.telegram.application import ALLOWED_UPDATES
from bot.channels.telegram.processor import chat_key
from bot.channels.telegram.webhook import read_update
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.inbound import StatusUpdate
from bot.channels.whatsapp.inbound import parse as parse_whatsapp
from bot.inbox import RENEW_EVERY_S
from bot.inbox.serving import WebInbox
from bot.metrics import Metrics, gauge, ticket_gauges
from bot.web.gauges import StoredGauges, at_low_priority, reader
from bot.web.limits import MAX_BODY_BYTES, BodyLimit
from bot.web.queue import DEFAULT_MAX_PENDING, DEFAULT_WORKERS, Batch, KeyedQueue
from bot.web.security import SIGNATURE_HEADER, TELEGRAM_SECRET_HEADER, same_secret, valid_signature
from handlers.api import Event, EventKind
from handlers.handoff import STAFF_PERIOD as TICKET_PERIOD
from handlers.router import GO, Router
from storage import Storage, StorageError, open_storage
from storage.interface import ChatTurns

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
HEALTH_TIMEOUT_S = 2.0
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PAGE_REUSE_S = 1.0  # scrapes within this of a rendered /metrics page get the same page
STATUS_KEY = "wa-statuses"  # the queue key of the status writes: one at a time, in arrival order


class Worker(Protocol):
    """A background service run in the same process (the outbox sender)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    @property
    def alive(self) -> bool: ...


@dataclass
class WebhookSecrets:
    telegram_secret: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_phone_id: str | None = None
    public_url: str | None = None
    metrics_token: str | None = None  # /metrics answers only with it (Authorization: Bearer); unset: 404


def handler_label(event: Event, router: Router) -> str:
    """A bounded label for /metrics: the command or action that ran, never free user text."""
    match event.kind:
        case EventKind.COMMAND:
            name = event.command
        case EventKind.ACTION:
            name = event.arg if event.action == GO else event.action
            known = router.commands if event.action == GO else router.actions
            return name if name in known else "unknown_action"
        case EventKind.TEXT:
            name = event.text.strip().lstrip("/").lower()
            return name if name in router.commands else "text"
        case _:
            return event.kind.value
    return name if name in router.commands else "unknown_command"


@dataclass
class Web:
    app: App
    secrets: WebhookSecrets
    whatsapp: WhatsAppChannel | None = None
    telegram: Any = None  # telegram.ext.Application, built by bot.channels.telegram.build_application
    workers: list[Worker] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    queue: KeyedQueue = field(default_factory=lambda: KeyedQueue(DEFAULT_WORKERS, DEFAULT_MAX_PENDING))
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    gauges: StoredGauges = field(init=False)
    page_reuse: float = PAGE_REUSE_S
    _page: tuple[float, bytes] | None = None  # the last /metrics page and when it was rendered (time.monotonic)
    _tickets: dict[int, int | None] = field(default_factory=dict)  # Telegram update_id -> its chat's turn
    inbox: WebInbox = field(init=False)  # updates stored before the 200 (issue 14.3, bot/inbox/)

    def __post_init__(self) -> None:
        self.app.router.observers.append(self._observe)
        target = self.app.settings.database_target
        self.inbox = WebInbox(self.app.storage, self.app.router.services.config.nik_pepper,
                              None if self.app.storage.turns.shared or target == ":memory:" else target,
                              telegram=self.telegram, phone_id=self.secrets.whatsapp_phone_id)
        self.gauges = StoredGauges(self._figures_source, reader(lambda: self.clock() - TICKET_PERIOD, self.clock),
                                   keep_open=self.app.storage)
        # Three status callbacks come back for every message sent: they are written together, not one by one.
        self.statuses: Batch[StatusUpdate] | None = (
            Batch(self.queue, STATUS_KEY, self.whatsapp.handle_statuses, self.queue.max_pending)
            if self.whatsapp is not None else None)
        self.starlette = Starlette(routes=[
            Route("/telegram/webhook", self.telegram_webhook, methods=["POST"]),
            Route("/whatsapp/webhook", self.whatsapp_verify, methods=["GET"]),
            Route("/whatsapp/webhook", self.whatsapp_webhook, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics_page, methods=["GET"]),
        ], middleware=[Middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, count=self.metrics.webhooks.inc)],
            lifespan=self._lifespan)

    def _observe(self, event: Event, seconds: float) -> None:
        self.metrics.updates.inc(event.channel.value, handler_label(event, self.app.router))
        self.metrics.latency.observe(seconds, event.channel.value)

    # --- lifecycle ----------------------------------------------------------------------------------
    @asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        async with self.running():
            yield

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Web]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def start(self) -> None:
        self.queue.start()
        await self.app.storage.webhooks.prune(self.clock())
        await self.app.storage.inbox.prune(self.clock())
        if self.telegram is not None:
            await self._start_telegram()
        # What a crash left: one process (SQLite) owns every row not done; several (PostgreSQL) take over only the
        # rows of processes that died (their lease ran out), now and every RENEW_EVERY_S (design note 22).
        shared = self.app.storage.turns.shared
        await self.inbox.recover(self._submit_whatsapp, everything=not shared, turns=self._tickets)
        for worker in self.workers:
            await worker.start()
        self._tasks.append(asyncio.create_task(self._prune_loop(), name="webhook-prune"))
        if shared:
            self._tasks.append(asyncio.create_task(self._inbox_loop(), name="inbox-lease"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.queue.stop()
        await self.gauges.close()
        await self.inbox.drain()
        for worker in reversed(self.workers):
            await worker.stop()
        if self.telegram is not None:
            if self.telegram.running:
                await self.telegram.stop()
            await self.inbox.drain()
            await self.telegram.shutdown()
        if self.whatsapp is not None:
            await self.whatsapp.client.close()

    async def _start_telegram(self) -> None:
        application = self.telegram
        if self.app.storage.turns.shared:  # several processes: a chat's updates take turns across them
            application.update_processor.guard = self._telegram_turn
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        if self.secrets.public_url:
            url = self.secrets.public_url.rstrip("/") + "/telegram/webhook"
            await application.bot.set_webhook(url=url, secret_token=self.secrets.telegram_secret,
                                              allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram webhook set to %s", url)

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                removed = await self.app.storage.webhooks.prune(self.clock())
                removed += await self.app.storage.inbox.prune(self.clock())
                log.info("pruned %d old webhook rows", removed)
            except StorageError:
                log.exception("pruning webhook ids failed")

    async def _inbox_loop(self) -> None:
        """Several processes: renew this process's lease on the rows it owns, and take over those of dead ones."""
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.inbox.renew()
                await self.inbox.recover(self._submit_whatsapp, everything=False, turns=self._tickets)
            except StorageError as exc:
                log.warning("renewing the inbox lease failed (%s): trying again", exc)

    # --- Telegram -----------------------------------------------------------------------------------
    async def telegram_webhook(self, request: Request) -> Response:
        if self.telegram is None or not self.secrets.telegram_secret:
            return PlainTextResponse("not found", status_code=404)
        if not same_secret(request.headers.get(TELEGRAM_SECRET_HEADER), self.secrets.telegram_secret):
            self.metrics.webhooks.inc("telegram", "forbidden")
            log.warning("Telegram webhook refused: wrong or missing secret token from %s", _client(request))
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        data = _json(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):  # not an update at all
            self.metrics.webhooks.inc("telegram", "malformed")
            return PlainTextResponse("bad request", status_code=400)
        update = read_update(data, self.telegram.bot)
        if update is None:  # Telegram redelivers anything but a 2xx, for hours: take it, say so once, count it
            self.metrics.webhooks.inc("telegram", "unreadable")
            return PlainTextResponse("ok")
        if self.telegram.update_queue.qsize() >= self.queue.max_pending:
            return self._busy("telegram", "%d Telegram updates waiting", self.telegram.update_queue.qsize())
        # Stored before the 200 (issue 14.3): a crash from here on loses nothing, a redelivery is dropped here.
        refused = self._unwritable("telegram")
        if refused is not None:
            return refused
        try:
            first = await self.inbox.store_telegram(update.update_id, body)
        except StorageError:
            return self._busy("telegram", "the database cannot be written")
        if not first:
            self.metrics.webhooks.inc("telegram", "duplicate")
            return PlainTextResponse("ok")
        self.metrics.webhooks.inc("telegram", "accepted")
        if self.app.storage.turns.shared:  # several processes: the chat's turn before the 200
            await self._take_turn(update)
        self.telegram.update_queue.put_nowait(update)  # in the chat's order: Telegram awaits this 200 first
        return PlainTextResponse("ok")

    def _unwritable(self, channel: str) -> Response | None:
        """503 while the database file is gone from its path (what is written now is lost at a restart)."""
        if self.inbox.file.intact():
            return None
        return self._busy(channel, "the database file was deleted")

    def _busy(self, channel: str, why: str, *args: object) -> Response:
        self.metrics.webhooks.inc(channel, "busy")
        log.warning(why + ": asking %s to deliver again later", *args, "Telegram" if channel == "telegram" else "Meta")
        return PlainTextResponse("busy", status_code=503)

    # --- several processes (PostgreSQL): a chat's turns, taken before the 200 -------------------------------
    async def _take_turn(self, update: Any) -> None:
        """Telegram sends a chat's next update only after our 200 for this one: the ticket taken now puts the
        chat's updates in the platform's order, whichever process each one reaches."""
        key = chat_key(update)
        if self.app.storage.turns.shared and key is not None:
            self._tickets[update.update_id] = await self._ticket("telegram", str(key), str(update.update_id))

    async def _ticket(self, channel: str, chat: str, update_id: str) -> int | None:
        """The chat's next turn for a stored update (kept on its inbox row). None when it cannot be taken: the update
        is stored (its redelivery would be dropped), so it is handled under the chat's lock alone, not refused."""
        try:
            return await self.app.storage.turns.take(channel, chat, update_id)
        except StorageError as exc:
            log.warning("no turn for a %s update (%s): handled under its chat's lock only", channel, exc)
            return None

    def _telegram_turn(self, update: Any, key: int) -> AbstractAsyncContextManager[None]:
        return self.app.storage.turns.hold("telegram", str(key), self._tickets.pop(update.update_id, None))

    # --- WhatsApp -----------------------------------------------------------------------------------
    async def whatsapp_verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
        params = request.query_params
        token = self.secrets.whatsapp_verify_token
        if (self.whatsapp is None or not token or params.get("hub.mode") != "subscribe"
                or not same_secret(params.get("hub.verify_token"), token)):
            log.warning("WhatsApp webhook verification refused from %s", _client(request))
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(params.get("hub.challenge", ""))

    async def whatsapp_webhook(self, request: Request) -> Response:
        channel = self.whatsapp
        if channel is None or not self.secrets.whatsapp_app_secret:
            return PlainTextResponse("not found", status_code=404)
        body = await request.body()
        if not valid_signature(body, request.headers.get(SIGNATURE_HEADER), self.secrets.whatsapp_app_secret):
            self.metrics.webhooks.inc("whatsapp", "bad_signature")
            log.warning("WhatsApp webhook refused: %s signature from %s",
                        "bad" if request.headers.get(SIGNATURE_HEADER) else "missing", _client(request))
            return PlainTextResponse("invalid signature", status_code=401)
        payload = _json(body)
        if not isinstance(payload, dict):  # signed, but not JSON (or nested past any parser's depth)
            self.metrics.webhooks.inc("whatsapp", "malformed")
            log.warning("WhatsApp webhook: a signed body that is not a JSON object, refused")
            return PlainTextResponse("bad request", status_code=400)
        inbound = parse_whatsapp(payload, self.secrets.whatsapp_phone_id)
        messages = inbound.messages
        if messages:  # stored before the 200 (issue 14.3), redeliveries dropped here
            if self.queue.pending + len(messages) > self.queue.max_pending:
                return self._busy("whatsapp", "webhook queue full (%d)", self.queue.pending)
            refused = self._unwritable("whatsapp")
            if refused is not None:
                return refused
            try:
                messages = await self.inbox.store_whatsapp(payload, messages, body)
            except StorageError:
                return self._busy("whatsapp", "the database cannot be written")
            for _ in range(len(inbound.messages) - len(messages)):
                self.metrics.webhooks.inc("whatsapp", "duplicate")
        jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            (f"wa:{m.event.chat_id}", self.inbox.whatsapp_job(self._handle_stored, m)) for m in messages
        ]
        turns = self.app.storage.turns
        if turns.shared:  # several processes: each message waits for its chat's turn
            for index, m in enumerate(messages):
                ticket = await self._ticket("whatsapp", m.event.chat_id, m.message_id)
                jobs[index] = (jobs[index][0], _in_turn(turns, "whatsapp", m.event.chat_id, ticket, jobs[index][1]))
        for key, job in jobs:
            self.queue.submit(key, job, force=True)  # stored: it must run (the room was checked above)
        assert self.statuses is not None
        if not self.statuses.add(inbound.statuses):
            self.metrics.webhooks.inc("whatsapp", "busy")
            log.warning("%d status callbacks waiting: asking Meta to deliver again later", self.statuses.pending)
            return PlainTextResponse("busy", status_code=503)
        self.metrics.webhooks.inc("whatsapp", "accepted")
        return PlainTextResponse("ok")

    async def _handle_stored(self, message: Any) -> None:
        assert self.whatsapp is not None
        await self.whatsapp.handle_message(message)

    def _submit_whatsapp(self, message: Any, turn: int | None) -> None:
        """A message the inbox kept from before a crash: handled in its chat's order (its turn, taken before its
        200, where several processes share the chats)."""
        if self.whatsapp is not None:
            key, job = f"wa:{message.event.chat_id}", self.inbox.whatsapp_job(self._handle_stored, message)
            turns = self.app.storage.turns
            if turns.shared:  # in their turns, on a key of their own: the chat's key may hold a later turn, waiting
                key, job = f"{key}:taken-over", _in_turn(turns, "whatsapp", message.event.chat_id, turn, job)
            self.queue.submit(key, job, force=True)

    # --- health and metrics -------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        checks: dict[str, bool] = {}
        try:
            await asyncio.wait_for(self.app.storage.metrics.ping(), HEALTH_TIMEOUT_S)
            checks["database"] = True
        except (StorageError, TimeoutError, OSError) as exc:
            log.warning("health check: database unreachable: %s", exc)
            checks["database"] = False
        checks["database_writable"] = checks["database"] and await self._writable()  # issue 14.4
        checks["database_file"] = self.inbox.file.intact()  # not deleted under the running process
        for worker in self.workers:
            checks[getattr(worker, "name", type(worker).__name__.lower())] = bool(worker.alive)
        if self.telegram is not None:
            checks["telegram"] = bool(self.telegram.running)
        ok = all(checks.values())
        return JSONResponse({"ok": ok, "checks": checks, "queue": self.queue.pending}, status_code=200 if ok else 503)

    async def _writable(self) -> bool:
        """The database takes a write now, and the webhooks' last store succeeded (a full disk may still take a
        write that needs no new page, but not a new update)."""
        try:
            await asyncio.wait_for(self.app.storage.inbox.probe(self.clock()), HEALTH_TIMEOUT_S)
        except (StorageError, TimeoutError, OSError) as exc:
            log.warning("health check: the database cannot be written: %s", exc)
            return False
        return self.inbox.writable

    async def metrics_page(self, request: Request) -> Response:
        """Prometheus' page, for whoever holds METRICS_TOKEN (`Authorization: Bearer ...`); without the setting
        there is no such page (404). It names no person: ids stay out of every label."""
        token = self.secrets.metrics_token
        if not token:
            return PlainTextResponse("not found", status_code=404)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(given.strip(), token):
            self.metrics.webhooks.inc("metrics", "forbidden")
            log.warning("/metrics refused: wrong or missing bearer token from %s", _client(request))
            return PlainTextResponse("unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        now = time.monotonic()
        if self._page is not None and now - self._page[0] < self.page_reuse:  # scrapers that come together
            return Response(self._page[1], media_type=METRICS_CONTENT_TYPE)
        figures = await self.gauges.figures()  # read on a connection of its own, one read at a time, cached
        lines = list(self.metrics.counters())
        lines += gauge("prakerja_webhook_queue_pending", "Webhook jobs waiting or running.",
                       {(): self.queue.pending})
        lines += gauge("prakerja_metrics_figures_age_seconds", "How old the figures read from the database are.",
                       {(): max(0.0, time.monotonic() - figures.read_at)})
        lines += ["# HELP prakerja_metrics_figure_reads_total Reads of the database for this page (any scrapers).",
                  "# TYPE prakerja_metrics_figure_reads_total counter",
                  f"prakerja_metrics_figure_reads_total {self.gauges.reads}"]
        if figures.counts is not None:
            counts = figures.counts
            lines += ["# HELP prakerja_link_failures_total Failed account-link verifications (audit log).",
                      "# TYPE prakerja_link_failures_total counter",
                      f"prakerja_link_failures_total {counts.link_failures}"]
            lines += gauge("prakerja_link_lockouts", "Chats and phone numbers locked out of linking now.",
                           {(): counts.active_lockouts})
            states = {"pending": 0, "sent": 0, "failed": 0, "blocked": 0} | counts.deliveries
            lines += gauge("prakerja_outbox_deliveries", "Outbox deliveries by state.",
                           {(state,): n for state, n in states.items()}, ("state",))
        if figures.tickets is not None:  # the hand-off to support staff (issue 8): the figures of /tiket
            lines += ticket_gauges(figures.tickets, self.clock())
        page = ("\n".join(lines) + "\n").encode()
        self._page = (time.monotonic(), page)
        return Response(page, media_type=METRICS_CONTENT_TYPE)

    async def _figures_source(self) -> Storage:
        """A database connection of the figures' own (a pool of one on PostgreSQL), so no answer waits for them."""
        target = self.app.settings.database_target
        if target == ":memory:":  # another connection would see another, empty database
            return self.app.storage
        return await at_low_priority(lambda: open_storage(target, pool_size=1))


def _in_turn(turns: ChatTurns, channel: str, chat: str, ticket: int | None,
             job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    async def in_turn() -> None:
        async with turns.hold(channel, chat, ticket):
            await job()

    return in_turn


def _json(body: bytes) -> Any:
    """The parsed body, or None. 100,000 nested "[" make the parser raise RecursionError: None too (a 400, which the
    platforms do not retry, where it was a 500 that they do)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"
