"""Wiring of `python -m bot run`: Telegram long polling, with the outbox sender and the support desk beside it.

Composition happens here, in bot/outbox.py (the sender) and in bot/web/serve.py (`serve`), nowhere else: they open
the app (bot/app.py: settings, storage, handlers), build each configured channel's adapters from bot/channels/ and
the outbox sender (bot/sender/), and run them until SIGINT/SIGTERM. Channels never import these modules
(tests/architecture/test_layers.py; docs/design-notes.md, note 20).
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import InvalidToken, TelegramError

from bot.app import open_app
from bot.channels.telegram.application import ALLOWED_UPDATES, POLL_TIMEOUT, build_application
from bot.channels.telegram.topics import support_desk
from bot.inbox.telegram import DurablePolling, inbox_for
from bot.logs import mask_text
from bot.outbox import run_sender
from bot.settings import Settings, warn_about_pepper
from bot.signals import stop_on_signals

log = logging.getLogger(__name__)


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
            # Long polling through the durable inbox (issue 14.3): stored before the offset moves, and what a crash
            # left handled first.
            polling = DurablePolling(application, inbox_for(application, app.storage,
                                                            app.router.services.config.nik_pepper))
            await polling.start(timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES)
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
            await polling.stop()
            await application.stop()
            await polling.inbox.drain()  # the updates handled until now are marked so
        finally:
            await application.shutdown()
    finally:
        remove_signal_handlers()
        await app.close()
    return 0
