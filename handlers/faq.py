"""Answers to the programme's common questions (issue 13): the FAQ book's entry, short, with the official place to
go next, the bot's own help that fits the person, and, for the next wave, the schedule the admins set.

The FAQ in force is the one an admin imported (`import_faq`: the chat's /impor_faq and `python -m bot import-faq`
both call it), kept in the database, else the file shipped with the bot. `StoredFaq` is the bot's `FaqSource` over
it: it compares the stored version at most every REFRESH_SECONDS (another process's import shows within that), and
the process that imports reads it again at once.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import datetime

from handlers.api import AnyButton, Button, LinkButton, rows
from handlers.context import Context
from handlers.i18n import WIB
from handlers.menu import FAQ_ACTION, command_button, contact_button, is_lolos, unknown_action
from handlers.router import Routes, escape
from handlers.understanding import DataError, FaqBook, FaqEntry, Understanding, load_faq, shipped_faq
from handlers.understanding.faq import FAQ_FILE
from handlers.understanding.models import Dynamic
from storage import Storage
from storage.models import Wave

log = logging.getLogger(__name__)
routes = Routes()

MAX_OFFERS = 2
REFRESH_SECONDS = 30.0  # how soon a process sees an FAQ another process imported


class StoredFaq:
    """The FAQ in force: the database's (an admin's import), else the shipped file. A `FaqSource`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._book: FaqBook | None = None
        self._checked = float("-inf")

    async def book(self) -> FaqBook:
        if self._book is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
            return self._book
        self._checked = time.monotonic()
        version = await self.storage.faq.version()
        if version is None:
            self._book = shipped_faq()
        elif self._book is None or self._book.version != version:
            stored = await self.storage.faq.current()
            try:
                self._book = load_faq(stored.body) if stored is not None else shipped_faq()
            except DataError as exc:  # valid when imported; a later release may check more: keep answering
                log.error("the imported FAQ no longer loads, the shipped one answers: %s", exc)
                self._book = shipped_faq()
        return self._book

    def forget(self) -> None:
        self._checked = float("-inf")


def check_faq(understanding: Understanding, text: str, now: datetime, name: str = FAQ_FILE) -> FaqBook:
    """An FAQ file as an import takes it: valid, no date checked after today (WIB), and every question readable
    apart from the bot's other phrasings. DataError lists every problem."""
    book = load_faq(text, today=now.astimezone(WIB).date(), name=name)
    try:
        understanding.with_faq(book)  # compiling it refuses a question that reads like another intent's
    except DataError as exc:  # name the entry as load_faq does: "[otp] text.id.questions[2]"
        ids = list(book.entries)
        raise DataError([replace(p, field=re.sub(r"^entry\[(\d+)\]\.", lambda m: f"[{ids[int(m[1])]}] ", p.field))
                         for p in exc.problems]) from None
    return book


async def import_faq(storage: Storage, understanding: Understanding, text: str, actor: str, role: str,
                     now: datetime, name: str = FAQ_FILE) -> FaqBook:
    """Check the file (`name`: how problems name it), then put it in force (audited), all or nothing: DataError
    and nothing changed."""
    book = check_faq(understanding, text, now, name)
    await storage.faq.replace(text, book.version, len(book.entries), actor, role, now)
    return book


async def book(ctx: Context) -> FaqBook:
    return await ctx.services.faq.book()


def faq_button(ctx: Context, entry: FaqEntry) -> Button:
    return Button(entry.text(ctx.t.locale).title, FAQ_ACTION, entry.fact.id)


@routes.action(FAQ_ACTION)
async def pressed(ctx: Context) -> None:
    entry = (await book(ctx)).entries.get(ctx.event.arg)
    if entry is None:  # an FAQ replaced since the button was sent, or a forged one
        await unknown_action(ctx)
        return
    await answer(ctx, entry)


async def answer(ctx: Context, entry: FaqEntry) -> None:
    t = ctx.t
    text = entry.text(t.locale)
    lines = [f"<b>{escape(text.title)}</b>", escape(text.answer)]
    if entry.fact.dynamic is Dynamic.NEXT_WAVE:
        lines.insert(1, await _schedule(ctx))
    buttons: list[AnyButton | None] = [LinkButton(link.label, link.url) for link in text.links]
    offers = [name for name in entry.fact.offers if _fits(ctx, name)][:MAX_OFFERS]
    buttons += [command_button(ctx, name) if name != "petugas" else contact_button(ctx) for name in offers]
    ctx.say("\n".join(lines), rows(*(b for b in buttons if b is not None), command_button(ctx, "menu")))


def _fits(ctx: Context, command: str) -> bool:
    """An offer that fits the person: no eligibility check for a Lolos applicant, no person without a desk."""
    if command == "syarat":
        return not is_lolos(ctx)
    if command == "petugas":
        return ctx.config.handoff.enabled
    return True


async def _schedule(ctx: Context) -> str:
    """The wave schedule the admins set (/gelombang): the next announcement, else the latest one."""
    t = ctx.t
    now = ctx.now()
    waves: list[Wave] = await ctx.storage.waves.all()
    upcoming = sorted((w for w in waves if not w.published and w.announce_at is not None and w.announce_at > now),
                      key=lambda w: w.announce_at or now)
    if upcoming:
        wave = upcoming[0]
        return t.gettext("Jadwal saat ini: pengumuman hasil <b>gelombang {n}</b> pada {time}.").format(
            n=wave.number, time=t.time(wave.announce_at or now))
    published = [w for w in waves if w.published]
    if published:
        wave = max(published, key=lambda w: w.number)
        return t.gettext("Belum ada jadwal gelombang baru. Gelombang terakhir yang diumumkan: gelombang {n}.").format(
            n=wave.number)
    return t.gettext("Belum ada jadwal gelombang baru.")
