"""`python -m bot chat --demo`: every capability of the bot in one terminal, without a token or a network.

The demo plays three people, one at a time (`/sebagai pemohon | admin | petugas`, `/admin` for short):

- the applicant (the default), in a terminal chat;
- an admin (`console:demo-admin`, in its own chat): /gelombang, /umumkan, /siaran, /tiket, /cari, /audit ...;
- support staff in the support group, where each ticket has its topic. The real support desk worker
  (bot/channels/telegram/topics.py) posts the tickets, through a stand-in for the Bot API that prints what it
  would post; what staff type goes through the real hand-off code (`handlers/handoff/desk.py`) as a message in the
  ticket's topic, and comes back to the applicant through the outbox and the real sender.

The database lives in a temporary folder that is removed at the end, Ctrl+C included.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.app import App, load_demo, open_app
from bot.channels.console import ConsoleChannel, LocalFiles, is_exit, read_lines, to_plain
from bot.channels.console.transport import ConsoleTransport
from bot.channels.telegram.topics import SupportDesk
from bot.demo import DEMO_PEPPER, applicants, demo_people, demo_wave_times
from bot.sender import build_sender
from bot.sender.transport import Outcome, Recipient
from bot.settings import Settings
from handlers.api import Reply
from handlers.digits import parse_int
from handlers.i18n import DEFAULT_LOCALE, translator
from handlers.roles import Channel, Principal
from handlers.workhours import HandoffConfig

DESK_CHAT_ID = -1009000000001  # the demo's support group (a Telegram supergroup id)
DEMO_ADMIN = Principal(Channel.CONSOLE, "demo-admin")
DEMO_STAFF = Principal(Channel.TELEGRAM, "9000002")
DEMO_APPLICANTS = 200
SETTLE_WITHIN_S = 3.0  # after each message: the desk's posts and the outbox's messages, before the next prompt
SETTLE_POLL_S = 0.02
APPLICANT, ADMIN, STAFF = "pemohon", "admin", "petugas"
DEMO_DESK_PER_MINUTE = 60_000
FIRST_TOPIC = 2  # thread ids of the demo group's topics (1 is the general topic)


@dataclass
class _Posted:
    message_id: int


@dataclass
class _Topic:
    message_thread_id: int


@dataclass
class ConsoleDeskBot:
    """What the support desk worker calls on the Bot API, printed instead of sent: the demo's support group."""

    out: TextIO
    token: str = "demo-desk"  # the key of the bot's send budget (bot/pacing.py): the demo's own
    names: dict[int, str] = field(default_factory=dict)  # topic -> name
    last_topic: int | None = None
    _ids: int = 0

    def _print(self, topic: int | None, text: str) -> None:
        where = self.names.get(topic or 0, "")
        print(f"[grup petugas · topik {where}]\n{to_plain(text)}\n", file=self.out, flush=True)

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    async def create_forum_topic(self, chat_id: int, name: str) -> _Topic:
        topic = FIRST_TOPIC + len(self.names)
        self.names[topic] = name
        return _Topic(topic)

    async def send_message(self, chat_id: int, text: str, parse_mode: str | None = None,
                           message_thread_id: int | None = None) -> _Posted:
        self.last_topic = message_thread_id
        self._print(message_thread_id, text)
        return _Posted(self._next())

    async def send_photo(self, chat_id: int, photo: str, caption: str = "", parse_mode: str | None = None,
                         message_thread_id: int | None = None) -> _Posted:
        return await self.send_message(chat_id, "[foto] " + caption, parse_mode, message_thread_id)

    async def send_document(self, chat_id: int, document: str, caption: str = "", parse_mode: str | None = None,
                            message_thread_id: int | None = None) -> _Posted:
        return await self.send_message(chat_id, "[dokumen] " + caption, parse_mode, message_thread_id)

    async def close_forum_topic(self, chat_id: int, message_thread_id: int) -> bool:
        print(f"[grup petugas · topik {self.names.get(message_thread_id, '')} ditutup]\n", file=self.out, flush=True)
        return True

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def demo_settings(settings: Settings) -> Settings:
    """The operator's settings with the demo's people: an admin in the terminal, staff in the support group."""
    return settings.model_copy(update={"admin_ids": (DEMO_ADMIN,), "support_ids": (DEMO_STAFF,),
                                       "database_url": None})


def demo_handoff(settings: Settings) -> HandoffConfig:
    return HandoffConfig(chat_id=str(DESK_CHAT_ID), hours=settings.handoff.hours,
                         answer_within=settings.support_answer_hours)


class DemoTransport(ConsoleTransport):
    """The terminal transport of the demo: a message to one of its chats is shown in it, buttons pressable."""

    def __init__(self, chats: dict[str, ConsoleChannel], out: TextIO) -> None:
        super().__init__(out)
        self.chats = chats

    async def send(self, recipient: Recipient, reply: Reply) -> Outcome:
        chat = self.chats.get(recipient.chat_id)
        if chat is None:
            return await super().send(recipient, reply)
        print(translator(DEFAULT_LOCALE).gettext("[pesan dari bot]"), file=self.out, flush=True)
        chat.delivered(reply)
        return Outcome.sent(None)


class DemoConsole:
    """The three people of the demo, one terminal; after each message the desk and the outbox are given their turn
    (`settle`), so what they print comes before the next prompt."""

    def __init__(self, app: App, out: TextIO) -> None:
        self.app, self.out = app, out
        self.t = translator(DEFAULT_LOCALE)
        people = demo_people()
        app.router.services.files[Channel.CONSOLE] = LocalFiles()  # /berkas FILE: an admin's CSV for /impor
        self.people = {
            APPLICANT: ConsoleChannel(app.router, own_phone=people[0].phone, out=out),
            ADMIN: ConsoleChannel(app.router, own_phone=None, out=out, user_id=DEMO_ADMIN.user_id,
                                  chat_id=DEMO_ADMIN.user_id),
            STAFF: ConsoleChannel(app.router, own_phone=None, out=out, user_id=DEMO_STAFF.user_id,
                                  chat_id=str(DESK_CHAT_ID), channel=Channel.TELEGRAM, private=False),
        }
        self.current = APPLICANT
        self.started = {APPLICANT}
        self.desk_bot = ConsoleDeskBot(out)
        # no group pace: a printed "post" costs Telegram nothing, and the demo must never wait a minute for one
        self.desk = SupportDesk(app.router.services, self.desk_bot, DESK_CHAT_ID,
                                per_minute=DEMO_DESK_PER_MINUTE)
        self.stop = asyncio.Event()
        settings = app.settings
        chats = {channel.chat_id: channel for channel in self.people.values() if channel.private}
        self.sender = build_sender(app, settings, [DemoTransport(chats, out)])
        self._sender_task: asyncio.Task[None] | None = None

    # --- lifetime ---------------------------------------------------------------------------------------------
    async def __aenter__(self) -> DemoConsole:
        self._sender_task = asyncio.create_task(self.sender.run(self.stop), name="demo-sender")
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop.set()
        if self._sender_task is not None:
            with contextlib.suppress(Exception):
                await self._sender_task

    # --- the conversation -------------------------------------------------------------------------------------
    def _prompt_text(self) -> str:
        if self.current == STAFF:
            topic = self.people[STAFF].thread_id
            return f"{STAFF} {self.desk_bot.names.get(int(topic), '') if topic else self.t.gettext('topik umum')}> "
        return f"{self.current}> "

    async def run(self, source: TextIO) -> None:
        interactive = source.isatty()
        await self.people[APPLICANT].send("/start")
        await self.settle()

        def prompt() -> None:
            print(self._prompt_text(), end="", file=self.out, flush=True)

        async for line in read_lines(source, prompt if interactive else None):
            if not interactive:
                print(f"{self._prompt_text()}{line.rstrip()}", file=self.out, flush=True)
            if is_exit(line):
                break
            if not await self._demo_command(line.strip()):
                await self.people[self.current].send(line)
            await self.settle()

    async def _demo_command(self, line: str) -> bool:
        """The demo's own commands (never sent to the bot): who is typing, and in which topic."""
        name, _, arg = line.partition(" ")
        name, arg = name.lower(), arg.strip().lower()
        if name == "/admin" and not arg:
            name, arg = "/sebagai", ADMIN
        if name == "/sebagai":
            if arg not in self.people:
                self._say(self.t.gettext("Pilih: /sebagai pemohon, /sebagai admin, atau /sebagai petugas."))
                return True
            self.current = arg
            self._say(self._introduce(arg))
            if arg == ADMIN and arg not in self.started:
                self.started.add(arg)
                await self.people[ADMIN].send("/start")
            return True
        if name == "/topik" and self.current == STAFF:
            await self._choose_topic(arg)
            return True
        return False

    def _introduce(self, who: str) -> str:
        t = self.t
        if who == ADMIN:
            return t.gettext("Sekarang Anda admin (di chat sendiri): coba /gelombang, /umumkan 4, /siaran, /tiket,"
                             " /cari 081100000001 ALASAN, /audit, /impor lalu /berkas FILE.csv. Kembali: /sebagai"
                             " pemohon.")
        if who == STAFF:
            return t.gettext("Sekarang Anda petugas di grup bantuan. Tulis balasan: diteruskan ke pemohon tiket di"
                             " topik ini. Di topik tiket: /cari, /buka ALASAN, /lepas ALASAN, /selesai. Pindah topik:"
                             " /topik NOMOR_TIKET. Kembali: /sebagai pemohon.")
        return t.gettext("Sekarang Anda pemohon lagi.")

    async def _choose_topic(self, arg: str) -> None:
        number = parse_int(arg.lstrip("#"))
        ticket = await self.app.storage.tickets.get(number) if number is not None else None
        if ticket is None or ticket.topic_id is None:
            self._say(self.t.gettext("Tiket itu tidak ada (atau belum punya topik). Contoh: /topik 1."))
            return
        self.people[STAFF].thread_id = str(ticket.topic_id)
        self._say(self.t.gettext("Anda menulis di topik {topic}.").format(
            topic=self.desk_bot.names.get(ticket.topic_id, "")))

    def _say(self, text: str) -> None:
        print(f"({text})\n", file=self.out, flush=True)

    async def settle(self) -> None:
        """Let the desk post what is queued (in the order the real one would) and the sender deliver what is due,
        within SETTLE_WITHIN_S."""
        storage = self.app.storage
        deadline = time.monotonic() + SETTLE_WITHIN_S
        while time.monotonic() < deadline:
            posted = await self.desk.step()
            if posted and self.desk_bot.last_topic is not None:  # staff answer where the last post went
                self.people[STAFF].thread_id = str(self.desk_bot.last_topic)
            for lane in self.sender.lanes:
                lane.wanted.set()
            now = datetime.now(UTC)
            due = await storage.outbox.has_work(Channel.CONSOLE.value, now)
            if not posted and (due is None or due > now) and not await storage.outbox.expanding():
                # what the sender's housekeeping does within half a second: a broadcast with nothing left to send
                # is done, so /siaran_status tells the same story at every run
                await storage.outbox.finish(now)
                return
            await asyncio.sleep(SETTLE_POLL_S)


def _introduction(out: TextIO) -> None:
    t = translator(DEFAULT_LOCALE)
    people = demo_people()
    announced = {wave for wave, (_, published) in demo_wave_times(datetime.now(UTC)).items() if published}
    lines = [t.gettext("Asisten Prakerja: demo di terminal (data buatan, tanpa token, tanpa jaringan)"),
             t.gettext("Pemohon demo (ketik /kontak untuk membagikan nomor yang pertama, /kontak NOMOR untuk yang"
                       " lain):")]
    results = {"lolos": t.gettext("Lolos"), "tidak_lolos": t.gettext("Tidak Lolos")}
    for p in people:
        result = results.get(p.result or "", t.gettext("belum diumumkan"))
        if p.result and p.wave not in announced:
            result = t.gettext("{result} (belum diumumkan)").format(result=result)
        lines.append(t.gettext("  {name:16} HP {phone}  NIK {nik}  gelombang {wave}: {result}").format(
            name=p.name, phone=p.phone, nik=p.nik, wave=p.wave, result=result))
    lines += [t.gettext("Tombol bernomor: ketik angkanya atau labelnya. /keluar untuk selesai."),
              t.gettext("Hubungi petugas dengan /petugas, lalu jawab sebagai petugas: /sebagai petugas. Perintah admin:"
                        " /admin. Kembali: /sebagai pemohon."), ""]
    print("\n".join(lines), file=out, flush=True)


async def run_demo(settings: Settings, source: TextIO | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    settings = demo_settings(settings)
    with tempfile.TemporaryDirectory(prefix="prakerja-demo-") as folder:
        app = await open_app(settings, pepper=DEMO_PEPPER, database=Path(folder) / "demo.sqlite3",
                             handoff=demo_handoff(settings))
        try:
            await load_demo(app.storage, DEMO_PEPPER, [*demo_people(), *applicants(DEMO_APPLICANTS)])
            _introduction(out)
            async with DemoConsole(app, out) as console:
                await console.run(source or sys.stdin)
        finally:
            await app.close()
    return 0
