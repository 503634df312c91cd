"""`python -m bot serve`: build the channels that are configured and run the web server with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from bot.app import App, open_app
from bot.channels.telegram import build_application
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.request import lean_request
from bot.channels.telegram.topics import support_desk
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.client import WhatsAppClient
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.templates import TemplateNames
from bot.channels.whatsapp.transport import WhatsAppTransport
from bot.metrics import Metrics
from bot.outbox import build_transports, run_sender
from bot.sender.transport import Transport
from bot.settings import Settings, warn_about_pepper
from bot.signals import STOP_SIGNALS
from bot.web.app import Web, WebhookSecrets, Worker
from bot.web.limits import ConnectionLimits, GuardedServer, accept_batch, guarded_protocol, max_connections
from handlers.api import Notice

if TYPE_CHECKING:  # imported when Telegram is configured (build_application)
    from telegram.ext import Application

log = logging.getLogger(__name__)

# Connections for each Bot API method the answers use (sendMessage, editMessageText, ...): far more than the ~30
# messages/s Telegram lets a bot send need.
TELEGRAM_CONNECTIONS = 16


def whatsapp_channel(app: App, settings: Settings, metrics: Metrics) -> WhatsAppChannel:
    assert settings.whatsapp_token and settings.whatsapp_phone_id
    client = WhatsAppClient(settings.whatsapp_api_url, settings.whatsapp_phone_id, settings.whatsapp_token)
    templates = TemplateNames(settings.whatsapp_template_info, settings.whatsapp_template_result,
                              settings.whatsapp_template_code, settings.template_languages)
    return WhatsAppChannel(app.router, app.storage, client, templates=templates, metrics=metrics,
                           pacer=Pacer(settings.whatsapp_rate))


def build_web(app: App, settings: Settings, *, workers: list[Worker] | None = None,
              telegram: Application | None = None, whatsapp: WhatsAppChannel | None = None,
              metrics: Metrics | None = None) -> Web:
    """The web app for `settings`: the channels that are configured (or given), their secrets, the workers."""
    metrics = metrics or Metrics()
    if whatsapp is None and settings.whatsapp_configured:
        whatsapp = whatsapp_channel(app, settings, metrics)
    if telegram is None and settings.telegram_bot_token:
        telegram = build_application(app, settings, request=lean_request(TELEGRAM_CONNECTIONS))
    if telegram is not None and whatsapp is not None:
        delivery = Delivery(telegram.bot)

        async def forward(notice: Notice) -> None:
            await delivery.notice(notice.channel, notice.chat_id, notice.reply)

        whatsapp.forward = forward
    secrets = WebhookSecrets(
        telegram_secret=settings.telegram_secret,
        whatsapp_app_secret=settings.whatsapp_app_secret,
        whatsapp_verify_token=settings.whatsapp_verify_token,
        whatsapp_phone_id=settings.whatsapp_phone_id,
        public_url=str(settings.public_url) if settings.public_url else None,
        metrics_token=settings.metrics_token,
    )
    return Web(app, secrets, whatsapp=whatsapp, telegram=telegram, workers=workers or [], metrics=metrics)


def server_config(web: Web, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """uvicorn as `serve` runs it (with `GuardedServer`): HTTP/1.1 with a deadline for each request, a cap on
    connections and small accept batches (issue 14.2, bot/web/limits.py); the body limit is the app's middleware.
    No lifespan: `serve` starts and stops the web app itself."""
    limits = ConnectionLimits(max_connections(settings.web_max_connections), settings.web_read_timeout_seconds,
                              dropped=web.metrics.connections_closed.inc)
    log.info("accepting at most %d connections at once; a request must arrive within %g s",
             limits.max_connections, limits.read_timeout)
    return uvicorn.Config(web.starlette, host=settings.host, port=settings.port if port is None else port,
                          lifespan="off", access_log=False, log_level=settings.log_level.lower(), log_config=None,
                          http=guarded_protocol(limits),
                          backlog=accept_batch(limits.max_connections))


class SenderWorker:
    """The outbox sender run by the web server: started and stopped with it, alive while it runs."""

    name = "sender"

    def __init__(self, app: App, settings: Settings, transports: list[Transport]) -> None:
        self.app, self.settings, self.transports = app, settings, transports
        self._stop = asyncio.Event()
        self._task: asyncio.Task[object] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(run_sender(self.app, self.settings, self._stop, self.transports),
                                         name="sender")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[object]) -> None:
        if not task.cancelled() and task.exception() is not None and not self._stop.is_set():
            log.error("the outbox sender stopped: %r (/healthz reports it)", task.exception())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()


def sender_worker(app: App, settings: Settings, web: Web) -> SenderWorker:
    """The sender with a transport per configured channel; WhatsApp's shares the channel's client and pace."""
    transports = build_transports(settings)
    if web.whatsapp is not None:
        transports.append(WhatsAppTransport.for_channel(web.whatsapp, settings.whatsapp_tier_limit))
    return SenderWorker(app, settings, transports)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts (OSError, e.g. the port is taken: one line)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on connections whose socket says TCP. With the
    # default 0 it stayed on, and uvicorn writes a response's head and body apart: the body waited for the client's
    # delayed ACK, ~40 ms a request (the webhook benchmark was capped at 32 connections / 45 ms = ~715 requests/s).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port} (HOST, PORT): {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


GC_YOUNG_THRESHOLD = 10_000  # allocations between collections of the young generation (Python's default: 700)


def settle_heap() -> None:
    """Before serving: what the start built (modules, the application, caches) is kept out of every later garbage
    collection (`gc.freeze`), and the young generation is collected every 10,000 allocations instead of 700. Each
    request allocates hundreds of short-lived objects (the JSON, PTB's Update, the ASGI messages), so with the
    default the collector ran every few requests and walked the whole start-up heap at each full collection; it
    took ~2 % of `serve`'s CPU under the webhook benchmark (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


class _Server(GuardedServer):
    """uvicorn's server with the limits of bot/web/limits.py, but a SIGTERM/SIGINT is not raised again once it has
    stopped: uvicorn does that to exit with the signal's code, which would end the process before the web app (the
    Telegram application, the sender, the database) is stopped. `serve` stops it all, then exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handlers = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


async def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM. Refuses to start (SettingsError, one line) when a platform lacks its secret.

    The web app is started here, before uvicorn listens (not in uvicorn's lifespan, which would print a failed
    start as a long traceback): Telegram unreachable or the token refused ends `serve` with one line (see
    `bot.__main__`), exactly like `run`.
    """
    settings.require_webhook_secrets()
    settings.require_pepper()
    app = await open_app(settings)
    try:
        web = build_web(app, settings)
        web.workers.append(sender_worker(app, settings, web))
        desk = support_desk(app, settings)  # issue 8: ticket messages into the support group's topics
        if desk is not None:
            web.workers.append(desk)
        server = _Server(server_config(web, settings))
        sock = listen(settings.host, settings.port)  # the port first: one taken ends serve here, in one line
        try:
            try:
                await web.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await web.stop()
                raise
            try:
                if web.telegram is not None and settings.public_url is None:
                    log.warning("PUBLIC_URL is not set: the Telegram webhook is not set, so Telegram sends no"
                                " updates here unless it was set before (set PUBLIC_URL, or use `python -m bot run`"
                                " for long polling)")
                warn_about_pepper()
                log.info("serving on %s:%d (telegram: %s, whatsapp: %s)", settings.host, settings.port,
                         "on" if web.telegram is not None else "off", "on" if web.whatsapp is not None else "off")
                settle_heap()
                await server.serve(sockets=[sock])
            finally:
                await web.stop()
        finally:
            sock.close()
        return 0 if server.started else 1
    finally:
        await app.close()
