"""The terminal channel: chat with the bot on stdin/stdout, interactively or from a piped script.

One line is one message. Buttons are printed numbered; type the number or the label to press one. `/kontak`
(or `/contact`) shares the demo user's phone number, `/kontak +62...` another number as your own. `/berkas PATH`
(or `/file PATH`) sends a file from this computer as a document (an admin's CSV for /impor), where the chat has a
way to read it (`LocalFiles`).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import html
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from handlers.api import (
    AnyButton,
    Button,
    Capabilities,
    Document,
    Event,
    EventKind,
    EventOrigin,
    FileError,
    LinkButton,
    Outgoing,
    Reply,
)
from handlers.digits import parse_int
from handlers.roles import Channel
from handlers.router import Router

CHAT_ID = "demo"
CONTACT_COMMANDS = {"kontak", "contact"}
FILE_COMMANDS = {"berkas", "file"}
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a href="([^"]+)">(.*?)</a>', re.S)


def to_plain(text: str) -> str:
    """Render the Reply markup as terminal text: links as 'label (url)', other tags dropped."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(1) != m.group(2) else m.group(1), text)
    return html.unescape(_TAG.sub("", text))


@dataclass
class _Choice:
    label: str
    button: AnyButton | None  # None: the share-my-phone button


READ_CHUNK = 65_536


async def read_lines(source: TextIO, prompt: Callable[[], None] | None = None) -> AsyncIterator[str]:
    """The lines of `source` (a terminal, a pipe or a file), without ever blocking the event loop: a terminal or a
    pipe is watched by the loop, so Ctrl+C ends the chat at once, not at the next Enter, and nothing is left
    waiting on a thread at exit. `prompt` is called before each wait."""
    try:
        fd = source.fileno()
        watched = not stat.S_ISREG(os.fstat(fd).st_mode)  # a regular file is always readable: no watching
    except (OSError, ValueError, AttributeError):  # io.StringIO and the like
        fd, watched = -1, False
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[bytes] = asyncio.Queue()
    if watched:
        try:
            loop.add_reader(fd, lambda: ready.put_nowait(os.read(fd, READ_CHUNK)))
        except PermissionError:  # epoll refuses what never blocks (/dev/null): read it directly
            watched = False
    if not watched:
        while True:
            if prompt is not None:
                prompt()
            line = source.readline()
            if not line:
                return
            yield line
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        pending = ""
        while True:
            if "\n" not in pending:
                if prompt is not None:
                    prompt()
                while "\n" not in pending:
                    chunk = await ready.get()
                    if not chunk:  # end of input (Ctrl+D, or the pipe closed)
                        if pending:
                            yield pending
                        return
                    pending += decoder.decode(chunk)
            line, _, pending = pending.partition("\n")
            yield line + "\n"
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)

# What the terminal can do (design note 21): it offers a "share my number" choice and promises to forget a message
# that carried a NIK (nothing is kept); a file named there is not passed to the support group.
CAPABILITIES = Capabilities(delete_messages=True, share_contact=True)


@dataclass
class ConsoleChannel:
    router: Router
    own_phone: str | None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    user_id: str = "demo-user"
    language_hint: str | None = "id"
    chat_id: str = CHAT_ID
    # The demo's support desk types as staff in a Telegram group's topic (bot/demo_chat.py): its events say so.
    channel: Channel = Channel.CONSOLE
    private: bool = True
    thread_id: str | None = None
    _choices: list[_Choice] = field(default_factory=list)

    def event_for(self, line: str) -> Event | None:
        line = line.strip()
        if not line:
            return None
        base: EventOrigin = {"channel": self.channel, "can": CAPABILITIES, "chat_id": self.chat_id,
                             "user_id": self.user_id, "language_hint": self.language_hint, "private": self.private,
                             "thread_id": self.thread_id}
        choice = self._match_choice(line)
        if choice is not None:
            if choice.button is None:
                return self._contact(base, self.own_phone)
            if isinstance(choice.button, LinkButton):
                self._print(f"(buka di browser: {choice.button.url})")
                return None
            return Event(kind=EventKind.ACTION, action=choice.button.action, arg=choice.button.arg, **base)
        if line.startswith("/"):
            name, _, args = line[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            if name in CONTACT_COMMANDS:
                return self._contact(base, args.strip() or self.own_phone)
            if name in FILE_COMMANDS:
                return self._file(base, args.strip())
            return Event(kind=EventKind.COMMAND, command=name, text=args.strip(), **base)
        return Event(kind=EventKind.TEXT, text=line, **base)

    def _contact(self, base: EventOrigin, phone: str | None) -> Event | None:
        if not phone:
            self._print("(tidak ada nomor demo; ketik /kontak +62...)")
            return None
        return Event(kind=EventKind.CONTACT, contact_phone=phone, contact_is_own=True, **base)

    def _file(self, base: EventOrigin, name: str) -> Event | None:
        """A file on this computer sent as a document: its path is its file id (`LocalFiles` reads it)."""
        path = Path(name).expanduser()
        if not name or not path.is_file():
            self._print(f"(berkas tidak ditemukan: {name or '-'}; contoh: /berkas pendaftar.csv)")
            return None
        document = Document(str(path.resolve()), path.name, path.stat().st_size)
        return Event(kind=EventKind.DOCUMENT, document=document, **base)

    def _match_choice(self, line: str) -> _Choice | None:
        number = parse_int(line, max_digits=3)
        if number is not None:
            # A label that shows its own number ("7. Barista" on page 2 of trainings) is what that number means
            # to the person (issue 13); otherwise the number printed in front of the choice.
            numbered = next((c for c in self._choices if to_plain(c.label).startswith(f"{number}. ")), None)
            if numbered is not None:
                return numbered
            if 1 <= number <= len(self._choices):
                return self._choices[number - 1]
        folded = line.casefold()
        for choice in self._choices:
            if to_plain(choice.label).casefold() == folded:
                return choice
        return None

    def render(self, outgoing: Outgoing) -> None:
        self._choices = []
        for reply in outgoing.replies:
            self._render_reply(reply)
        for notice in outgoing.notices:
            self._print(f"[pesan ke chat lain {notice.channel}:{notice.chat_id}] {to_plain(notice.reply.text)}")

    def delivered(self, reply: Reply) -> None:
        """A message the outbox sent to this chat (an answer from staff, a broadcast): shown, its buttons pressable
        by number like any reply's."""
        self._choices = []
        self._render_reply(reply)

    def _render_reply(self, reply: Reply) -> None:
        self._print(to_plain(reply.text))
        buttons: Sequence[AnyButton] = [b for row in reply.buttons for b in row]
        for button in buttons:
            self._choices.append(_Choice(button.label, button))
            suffix = f" -> {button.url}" if isinstance(button, LinkButton) else ""
            self._print(f"  [{len(self._choices)}] {to_plain(button.label)}{suffix}")
        if reply.request_contact:
            self._choices.append(_Choice(reply.request_contact, None))
            self._print(f"  [{len(self._choices)}] {reply.request_contact}  (atau ketik /kontak)")
        self._print("")

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def send(self, line: str) -> None:
        event = self.event_for(line)
        if event is None:
            return
        self.render(await self.router.handle(event))

    async def run(self, source: TextIO) -> None:
        interactive = source.isatty()
        await self.send("/start")
        prompt = (lambda: print("> ", end="", file=self.out, flush=True)) if interactive else None
        async for line in read_lines(source, prompt):
            if not interactive:
                self._print(f"> {line.rstrip()}")
            if is_exit(line):
                break
            await self.send(line)


class LocalFiles:
    """The terminal's `FileFetcher`: a document sent with /berkas is a file on this computer, its id its path."""

    async def fetch(self, file_id: str, max_bytes: int) -> bytes:
        return await asyncio.to_thread(self._read, Path(file_id), max_bytes)

    @staticmethod
    def _read(path: Path, max_bytes: int) -> bytes:
        try:
            if path.stat().st_size > max_bytes:
                raise FileError(f"{path.name} is larger than {max_bytes} bytes", too_large=True)
            return path.read_bytes()
        except OSError as exc:
            raise FileError(f"{path.name}: {exc.strerror}") from exc


EXIT_COMMANDS = frozenset({"/keluar", "/exit", "/quit"})


def is_exit(line: str) -> bool:
    return line.strip().lower() in EXIT_COMMANDS


def press(button: Button) -> str:
    """The line a script types to press `button` (its label)."""
    return button.label
