"""The outbox sender: delivers results, broadcasts and notices queued in the database.

- transport.py: the `Transport` protocol and `Outcome`     - pacing.py: token bucket, per-chat spacing
- worker.py: claim, send, record, housekeeping             - telegram.py / console.py: the transports

`run_sender(app, settings, stop_event)` runs it inside another command (`run`, `serve`); `python -m bot sender`
runs it alone (`main`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.app import App, open_app
from bot.sender.console import ConsoleTransport
from bot.sender.transport import Outcome, OutcomeKind, Recipient, Transport
from bot.sender.worker import Sender, SenderStats
from bot.settings import Settings, warn_about_pepper
from bot.signals import stop_on_signals
from handlers.roles import Channel, Role
from storage import Storage

__all__ = ["Outcome", "OutcomeKind", "Recipient", "Sender", "SenderStats", "Transport", "build_sender",
           "build_transports", "main", "run_sender"]

log = logging.getLogger(__name__)


def build_transports(settings: Settings, storage: Storage | None = None) -> list[Transport]:
    """A transport for each configured channel (the terminal one always: it only prints)."""
    transports: list[Transport] = [ConsoleTransport()]
    if settings.telegram_bot_token:
        from bot.sender.telegram import SEND_TIMEOUT, TelegramTransport

        transports.append(TelegramTransport(settings.telegram_bot_token, settings.telegram_api_url,
                                            rate=settings.telegram_rate, concurrency=settings.sender_concurrency,
                                            timeout=min(SEND_TIMEOUT, settings.sender_lease_seconds / 2)))
    if settings.whatsapp_configured and storage is not None:  # the window and the tier live in the database
        from bot.channels.whatsapp.transport import whatsapp_transport

        transports.append(whatsapp_transport(settings, storage))
    return transports


def build_sender(app: App, settings: Settings, transports: list[Transport]) -> Sender:
    staff = {
        Role.ADMIN: [(p.channel.value, p.user_id) for p in settings.admin_ids],
        Role.SUPPORT: [(p.channel.value, p.user_id) for p in settings.support_ids if p not in settings.admin_ids],
    }
    return Sender(app.storage, app.router.services, transports, concurrency=settings.sender_concurrency,
                  lease=settings.sender_lease_seconds, staff=staff)


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
            from bot.sender.telegram import TelegramFiles

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


async def main(settings: Settings) -> int:
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
