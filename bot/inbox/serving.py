"""The inbox of `serve` (bot/web/app.py): both webhooks store before their 200, and what a crash left is handled
at the start. Also what /healthz says of the database file (issue 14.4).

Telegram: the update is stored before the 200 and put on the application's queue; PTB's processor marks it done
when handled (bot/inbox/telegram.py). WhatsApp: the messages of a body are stored in one statement before the 200,
each handled on the webhook queue and marked done after. A database that cannot be written makes the webhook
answer 503: the platform delivers again later (Telegram for 24 h, Meta for 7 days), nothing is acknowledged unstored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.channels.whatsapp.inbound import InboundMessage
from bot.channels.whatsapp.inbound import parse as parse_whatsapp
from bot.inbox import Inbox, lease_until
from bot.inbox import telegram as tg
from bot.inbox.whatsapp import CHANNEL as WHATSAPP
from bot.inbox.whatsapp import single_messages
from storage import Storage

log = logging.getLogger(__name__)

FILE_CHECK_EVERY_S = 1.0  # the database file's inode is compared at most this often


class DatabaseFile:
    """Is the SQLite file the process writes still the one at its path? Deleted (or replaced) under a running
    process, SQLite goes on writing the unlinked inode: every answer looks fine, and a restart starts empty."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._identity = self._stat()
        self._checked = (0.0, True)

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    def intact(self) -> bool:
        """True unless the file at the path is gone or is another file than the one opened (checked once a second)."""
        if self.path is None or self._identity is None:
            return True
        now = time.monotonic()
        if now - self._checked[0] < FILE_CHECK_EVERY_S:
            return self._checked[1]
        same = self._stat() == self._identity
        if not same and self._checked[1]:
            log.error("the database file %s was deleted or replaced under the running process: what it writes now"
                      " is lost at a restart; updates are refused (503) until it is restarted on a restored file",
                      self.path)
        self._checked = (now, same)
        return same


class WebInbox:
    def __init__(self, storage: Storage, secret: str, database_path: str | None, *, telegram: Any = None,
                 phone_id: str | None = None) -> None:
        self.telegram_app = telegram
        self.phone_id = phone_id
        self.telegram = tg.inbox_for(telegram, storage, secret) if telegram is not None else Inbox(storage, tg.CHANNEL,
                                                                                                    secret)
        self.whatsapp = Inbox(storage, WHATSAPP, secret)
        self.file = DatabaseFile(database_path)

    @property
    def writable(self) -> bool:
        """The last store of either webhook succeeded (or none failed yet)."""
        return not (self.telegram.failing or self.whatsapp.failing)

    async def store_telegram(self, update_id: int, body: bytes) -> bool:
        """Store a Telegram update before its 200: False for a redelivery. StorageError: answer 503."""
        return str(update_id) in await self.telegram.accept([(str(update_id), body)])

    async def store_whatsapp(self, payload: Any, messages: list[InboundMessage],
                             body: bytes | None = None) -> list[InboundMessage]:
        """Store a body's messages before its 200: those stored now, once each (the rest are redeliveries, and the
        inbox is the only check of them: bot/channels/whatsapp/channel.py handles what it is given). StorageError:
        503. A body (`body`: as it came) of one message is stored as it came, not written out again: read back
        through the same parser, it gives that message (what else it holds, status callbacks, `recover` leaves
        aside)."""
        if not messages:
            return []
        if body is not None and len(messages) == 1:
            pairs = [(messages[0].message_id, body)]
        else:
            alone = single_messages(payload)
            pairs = [(m.message_id, alone[m.message_id]) for m in messages if m.message_id in alone]
        stored = await self.whatsapp.accept(pairs)
        first = {m.message_id: m for m in reversed(messages) if m.message_id in stored}  # an id twice: its first
        return [m for m in messages if first.get(m.message_id) is m]

    def whatsapp_job(self, handle: Callable[[InboundMessage], Awaitable[None]],
                     message: InboundMessage) -> Callable[[], Awaitable[None]]:
        """The webhook queue's job for a stored message: handle it, then mark it done (also when its handling
        failed with an error, which is logged: a message that breaks a handler is not handled again at each start;
        not when cancelled by a stop: it is handled at the next start)."""
        async def job() -> None:
            try:
                await handle(message)
            finally:
                if not _cancelled():
                    self.whatsapp.done(message.message_id)

        return job

    async def recover(self, submit: Callable[[InboundMessage, int | None], None], *, everything: bool = True,
                      turns: dict[int, int | None] | None = None) -> None:
        """Handle what a crash left, before anything new: Telegram's on the application's queue (`turns` gets each
        update's chat turn), WhatsApp's through `submit` (the webhook queue, in order, with its chat turn).
        `everything` False (several processes): only the rows of processes that died, their lease run out."""
        if self.telegram_app is not None:
            await tg.recover(self.telegram_app, self.telegram, everything=everything, turns=turns)
        for message_id, payload, turn in await self.whatsapp.take_over(everything=everything):
            parsed = parse_whatsapp(json.loads(payload), self.phone_id)
            found = [m for m in parsed.messages if m.message_id == message_id]
            if not found:
                self.whatsapp.done(message_id)
            for message in found:
                submit(message, turn)

    async def renew(self) -> None:
        """This process is alive: the rows it owns stay its own for another lease (both channels: one owner)."""
        now = self.whatsapp.clock()
        await self.whatsapp.storage.inbox.renew(self.whatsapp.owner, lease_until(now))

    async def drain(self) -> None:
        await self.telegram.drain()
        await self.whatsapp.drain()


def _cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
