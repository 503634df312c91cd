"""Free text, for admins (issue 13): /impor_faq replaces the FAQ the bot answers with, /tak_dipahami shows what
applicants wrote that the bot did not understand (counted per day by `unmatched_counter`, masked), so the FAQ and
the vocabulary can grow from real use."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from handlers.admin.shared import Upload, number, received_file, routes
from handlers.api import Button, rows
from handlers.context import Context, NotUnderstood, Step
from handlers.digits import parse_int
from handlers.faq import import_faq
from handlers.i18n import N_, WIB, Translator
from handlers.identity import mask_personal
from handlers.router import ADMINS, GO, escape
from handlers.understanding import DataError
from handlers.understanding.faq import FAQ_FILE, decode
from storage import Storage
from storage.models import UnmatchedCount

MAX_FAQ_BYTES = 1_000_000  # the shipped FAQ is ~40 kB
FAQ_TYPES = frozenset({"application/toml", "text/plain", "text/x-toml", "application/x-toml"})
MAX_PROBLEMS_SHOWN = 15
MAX_UNMATCHED_CHARS = 100  # kept of a message not understood (the start says what it was about)
UNMATCHED_DAYS, MAX_UNMATCHED_DAYS, UNMATCHED_SHOWN = 7, 90, 20
UNMATCHED_MORE = "unmatched_days"  # button: the list over more days (arg: the number of days)


# --- /impor_faq ------------------------------------------------------------------------------------------------
@routes.command("impor_faq", "import_faq", roles=ADMINS)
async def faq_import_start(ctx: Context) -> None:
    t = ctx.t
    await ctx.set_step(Step.ADMIN_AWAIT_FAQ)
    ctx.say(t.gettext(
        "Kirim berkas FAQ (<code>faq.toml</code>) sebagai <b>dokumen</b>, dengan bentuk yang sama seperti FAQ bawaan"
        " (<code>handlers/understanding/data/faq.toml</code>). Seluruh berkas diperiksa dulu: jika ada yang salah,"
        " FAQ tidak diganti dan saya sebutkan baris dan kolomnya. Jika benar, bot langsung menjawab dengan FAQ"
        " baru."), rows(Button(t.gettext("Batal"), GO, "menu")))


@routes.step(Step.ADMIN_AWAIT_FAQ)
async def faq_waiting(ctx: Context) -> None:
    t = ctx.t
    ctx.say(t.gettext("Saya menunggu berkas FAQ (.toml) sebagai dokumen. Ketik <b>batal</b> untuk berhenti."),
            rows(Button(t.gettext("Batal"), GO, "menu")))


FAQ_UPLOAD = Upload(
    ".toml", FAQ_TYPES, MAX_FAQ_BYTES,
    photo=N_("Itu foto, bukan berkas FAQ. Kirim berkas .toml sebagai dokumen."),
    wrong_type=N_("Berkas <b>{name}</b> bukan berkas FAQ. Kirim berkas berakhiran .toml."),
    too_large=N_("Berkas terlalu besar untuk FAQ (batasnya 1 MB)."),
    too_large_fetched=N_("Berkas terlalu besar untuk FAQ (batasnya 1 MB)."),
    unavailable=N_("Impor FAQ lewat chat belum tersedia di sini. Gunakan <code>python -m bot import-faq"
                   " BERKAS.toml</code> di server."),
)


async def faq_file(ctx: Context) -> None:
    t = ctx.t
    data = await received_file(ctx, FAQ_UPLOAD)
    if data is None:
        return
    document = ctx.event.document
    assert document is not None  # received_file took it
    retry = rows(Button(t.gettext("Batal"), GO, "menu"))
    try:
        book = await import_faq(ctx.storage, ctx.services.understanding, decode(data), ctx.actor, ctx.role.value,
                                ctx.now(), document.file_name or FAQ_FILE)
    except DataError as exc:
        ctx.say("\n".join(refused_lines(t, exc)), retry)
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "faq_import_refused", None,
                                       f"{len(exc.problems)} problems")
        return
    ctx.services.faq.forget()
    await ctx.end_step()
    ctx.say(t.gettext("<b>FAQ diganti</b>: {n} pertanyaan umum. Bot langsung menjawab dengan FAQ ini.").format(
        n=number(t, len(book.entries))), rows(Button(t.gettext("Menu"), GO, "menu")))


def refused_lines(t: Translator, exc: DataError, shown: int = MAX_PROBLEMS_SHOWN) -> list[str]:
    lines = [t.gettext("<b>FAQ tidak diganti</b>: perbaiki kesalahan berikut lalu kirim ulang berkasnya.")]
    lines += ["• " + escape(line) for line in exc.lines(t)[:shown]]
    more = len(exc.problems) - shown
    if more > 0:
        lines.append(t.ngettext("… dan {n} kesalahan lain", "… dan {n} kesalahan lain", more).format(n=more))
    return lines


# --- messages not understood -----------------------------------------------------------------------------------
def unmatched_text(text: str) -> str:
    """What is kept of a message not understood: NIKs, card and phone numbers masked, lower case, spaces collapsed,
    cut to MAX_UNMATCHED_CHARS; the same question written twice is counted once."""
    kept = " ".join(mask_personal(text).casefold().split()).strip(" .,!?")
    return kept if len(kept) <= MAX_UNMATCHED_CHARS else kept[:MAX_UNMATCHED_CHARS - 1].rstrip() + "…"


def wib_day(moment: datetime) -> str:
    return moment.astimezone(WIB).date().isoformat()


def unmatched_counter(storage: Storage) -> Callable[[NotUnderstood], Awaitable[None]]:
    """The `Services.not_understood` observer that counts each message per day in the database."""

    async def count(note: NotUnderstood) -> None:
        text = unmatched_text(note.text)
        if text:
            await storage.unmatched.add(wib_day(note.at), text, note.locale)

    return count


async def unmatched_top(storage: Storage, days: int, now: datetime, limit: int = UNMATCHED_SHOWN
                        ) -> list[UnmatchedCount]:
    """The most frequent messages not understood over the last `days` days, today (WIB) included."""
    since = (now.astimezone(WIB).date() - timedelta(days=days - 1)).isoformat()
    return await storage.unmatched.top(since, limit)


def unmatched_report(t: Translator, days: int, top: list[UnmatchedCount]) -> str:
    if not top:
        return t.ngettext("Tidak ada pesan yang tidak dipahami dalam {n} hari terakhir.",
                          "Tidak ada pesan yang tidak dipahami dalam {n} hari terakhir.", days).format(n=days)
    lines = [t.ngettext("<b>Pesan yang tidak dipahami bot, {n} hari terakhir</b> (tersering dulu; NIK dan nomor HP"
                        " disamarkan):",
                        "<b>Pesan yang tidak dipahami bot, {n} hari terakhir</b> (tersering dulu; NIK dan nomor HP"
                        " disamarkan):", days).format(n=days)]
    for i, item in enumerate(top, 1):
        on_days = t.ngettext("{n} hari", "{n} hari", item.days).format(n=item.days)
        lines.append(f"{i}. <b>{number(t, item.count)}×</b> {escape(item.text)} <i>({on_days})</i>")
    lines.append(t.gettext("Tambahkan pertanyaan yang sering muncul ke FAQ (/impor_faq)."))
    return "\n".join(lines)


@routes.command("tak_dipahami", "unmatched", roles=ADMINS)
async def unmatched_command(ctx: Context) -> None:
    t = ctx.t
    typed = re.sub(r"\s*hari$", "", ctx.event.text.strip().lower())
    days = parse_int(typed) if typed else UNMATCHED_DAYS
    if days is None or not 1 <= days <= MAX_UNMATCHED_DAYS:
        ctx.say(t.gettext("Tulis jumlah hari dari 1 sampai {max}, mis. <code>/tak_dipahami 30</code>.").format(
            max=MAX_UNMATCHED_DAYS), rows(Button(t.gettext("7 hari terakhir"), GO, "tak_dipahami")))
        return
    await _show_unmatched(ctx, days)


@routes.action(UNMATCHED_MORE, roles=ADMINS)
async def unmatched_more(ctx: Context) -> None:
    days = parse_int(ctx.event.arg)
    await _show_unmatched(ctx, days if days is not None and 1 <= days <= MAX_UNMATCHED_DAYS else UNMATCHED_DAYS)


async def _show_unmatched(ctx: Context, days: int) -> None:
    t = ctx.t
    top = await unmatched_top(ctx.storage, days, ctx.now())
    buttons = [Button(t.ngettext("{n} hari", "{n} hari", n).format(n=n), UNMATCHED_MORE, str(n))
               for n in (7, 30, 90) if n != days]
    ctx.say(unmatched_report(t, days, top), rows(*buttons, Button(t.gettext("Menu"), GO, "menu"), per_row=2))
