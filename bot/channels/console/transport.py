"""The terminal transport: prints what the outbox sends to terminal chats (the demo), at any pace."""

from __future__ import annotations

import itertools
import sys
from typing import TextIO

from bot.channels.console import to_plain
from bot.sender.transport import Outcome, Recipient
from handlers.api import LinkButton, Reply
from handlers.roles import Channel


class ConsoleTransport:
    channel = Channel.CONSOLE
    rate: float | None = None
    per_chat_interval = 0.0

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._ids = itertools.count(1)

    async def start(self) -> None:
        return None

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome:
        lines = [f"[pesan dari bot ke terminal:{recipient.chat_id}]"]
        if reply.photo:
            lines.append("[foto]")
        lines.append(to_plain(reply.text))
        lines += [f"  [{to_plain(b.label)}]" + (f" -> {b.url}" if isinstance(b, LinkButton) else "")
                  for row in reply.buttons for b in row]
        print("\n".join(lines) + "\n", file=self.out, flush=True)
        return Outcome.sent(str(next(self._ids)))

    async def set_menu(self, user_id: str, commands: list[tuple[str, str]] | None) -> bool:
        return True

    async def close(self) -> None:
        return None
