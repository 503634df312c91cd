"""One chat's updates in order, different chats concurrently.

PTB's own processors either run everything in order (one chat slows down every other) or concurrently (a
user's "NIK" could overtake their "shared contact"). `ChatOrderedProcessor` holds a lock per chat: updates of
one chat run one after another in arrival order (asyncio locks are FIFO), other chats run alongside, up to
`max_concurrent_updates` at once. A lock exists only while its chat has updates in flight, so memory does not
grow with the number of chats ever seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_MAX_CONCURRENT_UPDATES = 256


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # chat id -> (lock, updates holding or waiting)
        # Several processes (PostgreSQL, issue 7): the chat's turn across processes, held around the update's
        # handling inside this process's chat lock (bot/web/app.py sets it to the storage's `turns.hold`).
        self.guard: Callable[[Update, int], AbstractAsyncContextManager[None]] | None = None

    @property
    def active_chats(self) -> int:
        return len(self._locks)

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # The chat lock is taken before a concurrency slot, so a burst from one chat waits without
        # holding slots that other chats could use.
        key = _chat_key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self.guard is None:
                    await super().process_update(update, coroutine)
                else:
                    async with self.guard(update, key):  # type: ignore[arg-type]
                        await super().process_update(update, coroutine)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (its lock's key); None for updates of no chat."""
    return _chat_key(update)


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None
