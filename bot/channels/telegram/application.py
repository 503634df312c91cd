"""The python-telegram-bot `Application`: one catch-all handler in front of the router (bot/run.py polls with it,
bot/web/serve.py feeds it webhooks)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.app import App
from bot.channels.telegram.commands import set_commands
from bot.channels.telegram.delivery import Delivery, guarded
from bot.channels.telegram.groups import GroupPolicy
from bot.channels.telegram.processor import DEFAULT_MAX_CONCURRENT_UPDATES, ChatOrderedProcessor
from bot.channels.telegram.request import ANSWER_CONNECTIONS, POLL_CONNECTIONS, lean_request
from bot.channels.telegram.updates import to_event
from bot.logs import mask_text
from bot.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news (long polling)


def file_url(api_url: str) -> str:
    """`https://api.telegram.org/bot` -> `https://api.telegram.org/file/bot` (where downloads live)."""
    root = api_url.removesuffix("/bot") if api_url.endswith("/bot") else api_url.rstrip("/")
    return f"{root}/file/bot"


def build_application(app: App, settings: Settings, *,
                      max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES,
                      request: BaseRequest | None = None, clock: Callable[[], float] = time.monotonic) -> Application:
    """The real PTB Application talking to `settings.telegram_api_url`, every update going through the router.

    Answers and long polling go over the lean transport (request.py: keep-alive connections per method, ~50 µs of
    CPU a call where httpx's pool of 256 connections cost ~2 ms); uploads and downloads over httpx.
    `request` replaces the HTTP client for every Bot API call (the benchmarks answer locally, without HTTP);
    `clock` is the groups' hour (groups.py).
    """
    application = (
        ApplicationBuilder()
        .token(settings.require_telegram_token())
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .request(request or lean_request(ANSWER_CONNECTIONS))
        .get_updates_request(request or lean_request(POLL_CONNECTIONS))
        .concurrent_updates(ChatOrderedProcessor(max_concurrent_updates))
        .post_init(_post_init)
        .build()
    )
    groups = GroupPolicy(app.router.services.config.handoff.chat_id, clock)
    application.add_handler(TypeHandler(Update, _Bridge(app, application, settings.telegram_rate, groups).handle))
    application.add_error_handler(_log_error)
    return application


async def _post_init(application: Application) -> None:
    await set_commands(application.bot)


class _Bridge:
    """Update -> Event -> router -> Outgoing -> Telegram."""

    def __init__(self, app: App, application: Application, send_rate: float, groups: GroupPolicy) -> None:
        self.app = app
        self.delivery = Delivery(application.bot, send_rate=send_rate, shared=app.storage.budget)
        self.groups = groups

    async def handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        # The button stops spinning at once, while the answer is worked out: one round trip less in sequence.
        answering = asyncio.ensure_future(guarded("callback answer", query.from_user.id, query.answer, retry=False)
                                          ) if query is not None else None
        try:
            event = to_event(update, context.bot.username)
            if event is None:
                return
            outgoing = self.groups.screen(update, event, await self.app.router.handle(event), context.bot.bot)
            await self.delivery.deliver(update, event, outgoing)
        finally:
            if answering is not None:
                await answering


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    log.error("update failed: %s: %s", type(error).__name__, mask_text(str(error)), exc_info=error)

