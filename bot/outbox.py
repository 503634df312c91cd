"""Wiring of the outbox sender: a transport for each configured channel, the sender over them; `run_sender` runs it
inside `run` (bot/run.py) and `serve` (bot/web/serve.py), `sender_main` alone (`python -m bot sender`).

The sender itself (bot/sender/) knows no channel; each channel's transport is in its package
(bot/channels/*/transport.py). Composition happens in this module, bot/run.py and bot/web/serve.py only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import App, open_app
from bot.channels.console.transport import ConsoleTransport
from bot.channels.whatsapp.transport import whatsapp_transport
from bot.sender import Sender, Transport, build_sender
from bot.settings import Settings, warn_about_pepper
from bot.signals import stop_on_signals
from handlers.roles import Channel
from storage import Storage

log = logging.getLogger(__name__)


def build_transports(settings: Settings, storage: Storage | None = None) -> list[Transport]:
    """A transport for each configured channel (the terminal one always: it only prints)."""
    transports: list[Transport] = [ConsoleTransport()]
    if settings.telegram_bot_token:
        # deferred: python-telegram-bot (~240 modules, ~10 MiB) only where Telegram is configured (a WhatsApp-only
        # `sender` runs without it)
        from bot.channels.telegram.transport import SEND_TIMEOUT, TelegramTransport

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
            # deferred: python-telegram-bot only with a Telegram transport (see build_transports)
            from bot.channels.telegram.transport import TelegramFiles

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
        transports = build_transports(settings, app.storage)
        rates = {Channel.TELEGRAM: settings.telegram_rate, Channel.WHATSAPP: settings.whatsapp_rate}
        platforms = [f"{t.channel.value} {rates[t.channel]:g}/s" for t in transports if t.channel in rates]
        log.info("sender running for %s, %d sends in flight per channel; stop with Ctrl+C",
                 ", ".join(platforms) or "the terminal only (no TELEGRAM_BOT_TOKEN, no WHATSAPP_* settings)",
                 settings.sender_concurrency)
        warn_about_pepper()
        sender = await run_sender(app, settings, stop, transports)
        stats = sender.stats
        log.info("sender stopped: %d sent, %d throttled (429), %d retried, %d failed, %d blocked",
                 stats.sent, stats.throttled, stats.transient, stats.failed, stats.blocked)
    finally:
        remove_signal_handlers()
        await app.close()
    return 0
