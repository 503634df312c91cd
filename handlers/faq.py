"""Answers to the programme's common questions (issue 13): the FAQ book's entry, short, with the official place to
go next, the bot's own help that fits the person, and, for the next wave, the schedule the admins set."""

from __future__ import annotations

from handlers.api import AnyButton, Button, LinkButton, rows
from handlers.context import Context
from handlers.menu import FAQ_ACTION, command_button, contact_button, is_lolos, unknown_action
from handlers.router import Routes, escape
from handlers.understanding import FaqBook, FaqEntry
from handlers.understanding.models import Dynamic
from storage.models import Wave

routes = Routes()

MAX_OFFERS = 2


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
