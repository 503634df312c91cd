"""Wiring for `python -m bot run` (Telegram long polling) and `python -m bot sender` (the outbox sender alone).

Composition happens here and in bot/web/serve.py (`serve`), nowhere else: they open the app (bot/app.py: settings,
storage, handlers), build each configured channel's adapters from bot/channels/ and the outbox sender (bot/sender/),
and run them until SIGINT/SIGTERM. Channels never import these modules (tests/architecture/test_layers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.error import InvalidToken, TelegramError

from bot.app import App, open_app
from bot.channels.console.transport import ConsoleTransport
from bot.channels.telegram.application import ALLOWED_UPDATES, POLL_TIMEOUT, build_application
from bot.channels.telegram.topics import support_desk
from bot.channels.telegram.transport import SEND_TIMEOUT, TelegramFiles, TelegramTransport
from bot.channels.whatsapp.transport import whatsapp_transport
from bot.logs import mask_text
from bot.sender import Sender, Transport, build_sender
from bot.settings import Settings, warn_about_pepper
from bot.signals import stop_on_signals
from handlers.roles import Channel
from storage import Storage

log = logging.getLogger(__name__)


# --- the outbox sender ------------------------------------------------------------------------------------------
def build_transports(settings: Settings, storage: Storage | None = None) -> list[Transport]:
    """A transport for each configured channel (the terminal one always: it only prints)."""
    transports: list[Transport] = [ConsoleTransport()]
    if settings.telegram_bot_token:
        transports.append(TelegramTransport(settings.telegram_bot_token, settings.telegram_api_url,
                                            rate=settings.telegram_rate, concurrency=settings.sender_concurrency,
                                            timeout=min(SEND_TIMEOUT, settings.sender_lease_seconds / 2)))
    if settings.whatsapp_configured and storage is not None:  # the window and the tier live in the database
        transports.append(whatsapp_transport(settings, storage))
    return transports


async def run_sender(app: App, settings: Settings, stop_event: asyncio.Event,
                     transports: list[Transport] | None = None) -> Sender:
    """Deliver the outbox until `stop_event` is set; returns the sender (its `stats`) when stopped.

    Also gives the handlers a way to download files users send on Telegram (admin CSV uploads), if the
    channel has not provided one.
    """
    transports = transports if transports is not None else build_transports(settings, app.storage)
    services = app.router.services
    for transport in transports:
        bot = getattr(transport, "bot", None)
        if transport.channel is Channel.TELEGRAM and bot is not None and Channel.TELEGRAM not in services.files:
            services.files[Channel.TELEGRAM] = TelegramFiles(bot)
    sender = build_sender(app, settings, transports)
    app.router.observers.append(sender.wake_after)
    try:
        await sender.run(stop_event)
    finally:
        app.router.observers.remove(sender.wake_after)
        for transport in transports:
            with contextlib.suppress(Exception):
                await transport.close()
    return sender


async def sender_main(settings: Settings) -> int:
    """`python -m bot sender`: the sender alone, until SIGINT/SIGTERM."""
    settings.require_pepper()
    stop = asyncio.Event()
    app = await open_app(settings)
    remove_signal_handlers = stop_on_signals(stop)
    try:
        log.info("sender running (Telegram %s/s, concurrency %d); stop with Ctrl+C",
                 settings.telegram_rate, settings.sender_concurrency)
        warn_about_pepper()
        sender = await run_sender(app, settings, stop)
        stats = sender.stats
        log.info("sender stopped: %d sent, %d throttled (429), %d retried, %d failed, %d blocked",
                 stats.sent, stats.throttled, stats.transient, stats.failed, stats.blocked)
    finally:
        remove_signal_handlers()
        await app.close()
    return 0


# --- Telegram long polling --------------------------------------------------------------------------------------
async def run_polling(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """Long polling until SIGINT/SIGTERM (or `stop` is set); returns the process exit code."""
    settings.require_telegram_token()
    settings.require_pepper()
    stop = stop or asyncio.Event()
    app = await open_app(settings)
    remove_signal_handlers = stop_on_signals(stop)
    try:
        application = build_application(app, settings)
        try:
            await application.initialize()
        except TelegramError as exc:
            await application.bot.shutdown()
            if isinstance(exc, InvalidToken):  # its message holds the token: not logged
                log.error("Telegram refused TELEGRAM_BOT_TOKEN: check the token from @BotFather")
                return 2
            log.error("cannot reach the Telegram Bot API at %s: %s", settings.telegram_api_url, mask_text(str(exc)))
            return 1
        try:
            if application.post_init is not None:
                await application.post_init(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES)
            log.info("polling as @%s; stop with Ctrl+C", application.bot.username)
            warn_about_pepper()
            desk = support_desk(app, settings)  # issue 8: ticket messages into the support group's topics
            if desk is not None:
                await desk.start()
            # The outbox sender (announcements, broadcasts, relays) runs beside polling and stops with it.
            sender = asyncio.create_task(run_sender(app, settings, stop), name="sender")
            await stop.wait()
            log.info("stopping")
            await sender
            if desk is not None:
                await desk.stop()
            await application.updater.stop()
            await application.stop()
        finally:
            await application.shutdown()
    finally:
        remove_signal_handlers()
        await app.close()
    return 0
