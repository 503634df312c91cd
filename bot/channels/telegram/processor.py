"""One chat's updates in order, different chats concurrently.

PTB's own processors either run everything in order (one chat slows down every other) or concurrently (a
user's "NIK" could overtake their "shared contact"). `ChatOrderedProcessor` uses PTB's documented hook,
`do_process_update`, which PTB calls for every update once it holds one of `max_concurrent_updates` slots, in
arrival order: the first update of a chat with nothing in flight is handled at once, and the chat's later updates
that arrive meanwhile are queued behind it and handled after it, one after another, by the same task. Their own
calls return at once, so a burst from one chat holds one slot, not one per update, and other chats run alongside.
A chat's queue exists only while it has updates in flight, so memory does not grow with the number of chats ever
seen. With several processes (`guard` set) the chat's turns order its updates instead, in this process too: an
update taken over from a dead process (bot/inbox/) has an earlier turn than the chat's update waiting here for it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENT_UPDATES = 256

Queued = tuple[Update, Awaitable[Any]]


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._queues: dict[int, deque[Queued]] = {}  # chat id -> its updates waiting behind the one in flight
        # Several processes (PostgreSQL, issue 7): the chat's turn across processes, held around each update's
        # handling (bot/web/app.py sets it to the storage's `turns.hold`).
        self.guard: Callable[[Update, int], AbstractAsyncContextManager[None]] | None = None
        # Told of each update whose handling ended (the durable inbox marks it done, bot/inbox/telegram.py).
        self.finished: Callable[[Update], None] | None = None

    @property
    def active_chats(self) -> int:
        return len(self._queues)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            self._finished(update)
            return
        assert isinstance(update, Update)
        if self.guard is not None:  # the chat's turns order its updates, here and across processes: queued behind
            await self._handle(key, update, coroutine)  # one waiting for its turn, an earlier turn would never come
            return
        waiting = self._queues.get(key)
        if waiting is not None:  # the chat has an update in flight: this one follows it, in that task
            waiting.append((update, coroutine))
            return
        self._queues[key] = waiting = deque()
        try:
            await self._handle(key, update, coroutine)
            while waiting:
                await self._handle(key, *waiting.popleft())
        finally:
            del self._queues[key]
            for _, left in waiting:  # cancelled mid-way (shutdown): the rest is dropped, as PTB drops its queue
                getattr(left, "close", lambda: None)()

    async def _handle(self, key: int, update: Update, coroutine: Awaitable[Any]) -> None:
        try:
            if self.guard is None:
                await coroutine
            else:
                async with self.guard(update, key):
                    await coroutine
        except Exception:  # handler errors PTB reports itself; this is the guard's (the database): the chat goes on
            log.exception("update %s could not be handled", update.update_id)
        else:
            self._finished(update)

    def _finished(self, update: object) -> None:
        if self.finished is not None and isinstance(update, Update):
            self.finished(update)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (its queue's key); None for updates of no chat."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
