"""Telegram through the inbox: long polling that stores what getUpdates returned before the offset moves past it,
and the updates a crash left, handled again at the start (`run` and `serve`).

PTB's `Updater` confirms an update to Telegram with the offset of its next getUpdates call, right after putting it
on the application's queue, before any handler ran: a crash then lost every update in memory. Here the Updater is
PTB's own (its retries, back-off and clean stop), polling through `StoringBot`, which stores each answer of
getUpdates in the inbox before returning it; the offset only moves once the updates are stored. Each update is
marked done when its handling ended (`ChatOrderedProcessor.finished`, bot/channels/telegram/processor.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, Updater
from telegram.warnings import PTBUserWarning

from bot.channels.telegram.processor import ChatOrderedProcessor
from bot.channels.telegram.webhook import read_update
from bot.inbox import Inbox
from storage import StorageError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# getUpdates is called raw on purpose (`StoringBot._fetch`): PTB's advice to use its typed method is not for it.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates' instead of 'Bot\.do_api_request",
                        category=PTBUserWarning)


def inbox_for(application: Application, storage: Any, secret: str) -> Inbox:
    """The Telegram inbox, its `done` called for each update the application finished handling."""
    inbox = Inbox(storage, CHANNEL, secret)
    processor = application.update_processor
    if isinstance(processor, ChatOrderedProcessor):  # the processor every application of ours is built with
        processor.finished = lambda update: inbox.done(str(update.update_id))
    return inbox


async def recover(application: Application, inbox: Inbox, *, everything: bool = True,
                  turns: dict[int, int | None] | None = None) -> int:
    """Put the updates stored and not handled (a crash, a stop mid-way) on the application's queue, in the order
    they came, before anything new: how many. `everything` False: only those of processes that died (their lease
    ran out); `turns` gets each one's chat turn (update_id -> ticket), for the processor's guard."""
    count = 0
    for update_id, payload, turn in await inbox.take_over(everything=everything):
        data = json.loads(payload)
        update = read_update(data, application.bot) if isinstance(data, dict) else None
        if update is None:
            inbox.done(update_id)
            continue
        if turns is not None:
            turns[update.update_id] = turn
        await application.update_queue.put(update)
        count += 1
    return count


class StoringBot:
    """`application.bot` as the polling Updater sees it: getUpdates answers stored in the inbox before returned.

    Only the updates stored for the first time are returned; those stored before (Telegram sends them again when
    the offset had not moved when the process stopped) are confirmed and left to `recover`. When the inbox cannot
    be written, the updates are handed over unstored, as before the inbox (the handlers then answer "Sistem sedang
    sibuk" to what they cannot do), so polling never stalls on a full disk.
    """

    def __init__(self, bot: Any, inbox: Inbox) -> None:
        self._bot, self._inbox = bot, inbox
        self._offset: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)

    async def get_updates(self, offset: int | None = None, limit: int | None = None,  # PTB's signature
                          timeout: float | None = None,  # noqa: ASYNC109
                          allowed_updates: Sequence[str] | None = None, **_: Any) -> tuple[Update, ...]:
        while True:
            if self._offset is not None and (offset is None or offset < self._offset):
                offset = self._offset
            raw = await self._fetch(offset, limit, timeout, allowed_updates)
            if not raw:
                return ()
            payloads = [(str(u.get("update_id")), json.dumps(u).encode()) for u in raw]  # before PTB reads them
            updates = Update.de_list(raw, self._bot)
            try:
                stored = await self._inbox.accept(payloads)
            except StorageError:
                return updates  # unstored: handled at once, as before (see above)
            self._offset = updates[-1].update_id + 1
            fresh = tuple(u for u in updates if str(u.update_id) in stored)
            if fresh:
                return fresh
            offset = self._offset  # every one stored before: confirm them and wait for news

    async def _fetch(self, offset: int | None, limit: int | None, poll: float | None,
                     allowed_updates: Sequence[str] | None) -> list[dict[str, Any]]:
        """getUpdates as JSON: what is stored is Telegram's own JSON (PTB's `to_json` of each update cost ~70 µs),
        through PTB's public raw call, on the same request object as `get_updates` (PTB picks it by method name).
        The read timeout is the long poll's plus the request's own, as `Bot.get_updates` makes it."""
        params = {"offset": offset, "limit": limit, "timeout": poll, "allowed_updates": allowed_updates}
        result = await self._bot.do_api_request(
            "getUpdates", api_kwargs={k: v for k, v in params.items() if v is not None},
            read_timeout=(self._bot.request.read_timeout or 0) + (poll or 0))
        return result if isinstance(result, list) else []


class DurablePolling:
    """Long polling through the inbox: `start` handles what a crash left, then polls; `stop` stops polling and
    waits until the updates handled are marked so."""

    def __init__(self, application: Application, inbox: Inbox) -> None:
        self.application, self.inbox = application, inbox
        # StoringBot stands in for the Bot: it has what Updater calls (get_updates, initialize, shutdown, ...),
        # the rest is the application's own bot.
        self.updater = Updater(StoringBot(application.bot, inbox), application.update_queue)  # type: ignore[arg-type]

    async def start(self, **polling: Any) -> None:
        await self.inbox.storage.inbox.prune(self.inbox.clock())
        await recover(self.application, self.inbox)
        await self.updater.initialize()
        await self.updater.start_polling(**polling)

    async def stop(self) -> None:
        if self.updater.running:
            await self.updater.stop()
        await asyncio.sleep(0)
        await self.inbox.drain()
