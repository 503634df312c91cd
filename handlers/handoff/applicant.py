"""The applicant's side of the hand-off: "Hubungi petugas" (/petugas) opens a ticket with their question (or joins
the open one), their messages, photos and documents go to it while it is open (the router's fallbacks land here
first), and "Masalah selesai" (/selesai) closes it and asks for a 1-5 rating."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import admin, freetext, menu, scam
from handlers.api import AnyButton, Button, EventKind, Reply, rows
from handlers.context import Context, Step
from handlers.digits import parse_int
from handlers.handoff.shared import routes, staff_t
from handlers.i18n import Translator
from handlers.identity import mask_niks, mask_phone
from handlers.menu import command_button, show_menu
from handlers.roles import Role, channel_label
from handlers.router import GO, Router, escape
from handlers.workhours import day_and_time
from storage.models import PostKind, Ticket, TicketInput

CLOSE = "ho_done"  # the applicant's "Masalah selesai" (arg: ticket id)
RATE = "ho_rate"  # the applicant's rating (arg: "ticket:score")
RATINGS = range(1, 6)
ACK_QUIET = timedelta(minutes=5)  # a relayed message is acknowledged when the previous one is older than this
TICKET_WINDOW = timedelta(hours=1)  # new tickets per chat are limited per this window (SUPPORT_TICKETS_PER_HOUR)


async def _current(ctx: Context) -> Ticket | None:
    """The chat's open ticket (no look-up while the hand-off is off)."""
    if not ctx.config.handoff.enabled:
        return None
    return await ctx.storage.tickets.current(ctx.chat.id)


def _ticket_buttons(ctx: Context, ticket: Ticket) -> tuple[tuple[AnyButton, ...], ...]:
    t = ctx.t
    return rows(Button(t.gettext("Masalah selesai"), CLOSE, str(ticket.id)), Button(t.gettext("Menu"), GO, "menu"),
                per_row=2)


def _due_text(ctx: Context, since: datetime) -> str:
    t = ctx.t
    config = ctx.config.handoff
    text = t.gettext("Petugas akan membalas di chat ini paling lambat <b>{due}</b> (jam layanan: {hours}).").format(
        due=day_and_time(t, config.due(since)), hours=config.hours.describe(t))
    if not config.hours.is_open(ctx.now()):
        text = t.gettext("Saat ini di luar jam layanan.") + " " + text
    return text


@routes.command("petugas", "agent")
async def contact_staff(ctx: Context) -> None:
    t = ctx.t
    if not ctx.config.handoff.enabled:
        show_menu(ctx, t.gettext("Maaf, layanan petugas lewat chat belum tersedia. Informasi resmi Kartu Prakerja:"
                                 " www.prakerja.go.id."))
        return
    ticket = await _current(ctx)
    if ticket is not None:
        lines = [t.gettext("Tiket <b>#{id}</b> Anda masih terbuka (dibuka {time}). Tulis pesan Anda di sini: pesan"
                           " diteruskan ke petugas.").format(id=ticket.id, time=t.time(ticket.opened_at))]
        lines.append(_due_text(ctx, ticket.waiting_since) if ticket.waiting_since else
                     t.gettext("Petugas sudah membalas; balasannya ada di chat ini."))
        ctx.say("\n".join(lines), _ticket_buttons(ctx, ticket))
        return
    if await _over_ticket_limit(ctx):
        return
    await ctx.set_step(Step.HANDOFF_AWAIT_QUESTION)
    ctx.say(t.gettext("Tulis pertanyaan Anda untuk petugas dalam satu pesan; boleh dengan foto atau dokumen"
                      " pendukung. Petugas akan membalas di chat ini.\n\n⚠️ Jangan kirim NIK, PIN, kode OTP, atau kata"
                      " sandi: petugas tidak pernah memintanya."),
            rows(Button(t.gettext("Batal"), GO, "menu")))


async def _over_ticket_limit(ctx: Context) -> bool:
    """True (after telling the applicant when they can try again) when the chat already opened as many tickets
    within the hour as it may (issue 14.8: one chat's 25 tickets in 16.5 s held up everyone else's)."""
    limit = ctx.config.handoff.tickets_per_hour
    now = ctx.now()
    opened = await ctx.storage.tickets.opened_since(ctx.chat.id, now - TICKET_WINDOW)
    if len(opened) < limit:
        return False
    t = ctx.t
    again = opened[len(opened) - limit] + TICKET_WINDOW  # when the oldest one that counts leaves the window
    ctx.say(t.ngettext(
        "Anda sudah membuka {n} tiket dalam 1 jam terakhir, batas untuk satu chat. Silakan coba lagi setelah {time}."
        " Sementara itu, tulis pertanyaan Anda di sini: saya coba jawab dari tanya jawab (FAQ), atau pilih dari"
        " menu.",
        "Anda sudah membuka {n} tiket dalam 1 jam terakhir, batas untuk satu chat. Silakan coba lagi setelah {time}."
        " Sementara itu, tulis pertanyaan Anda di sini: saya coba jawab dari tanya jawab (FAQ), atau pilih dari"
        " menu.", limit).format(n=limit, time=t.time(again)),
        rows(command_button(ctx, "bantuan"), command_button(ctx, "menu"), per_row=2))
    return True


@routes.step(Step.HANDOFF_AWAIT_QUESTION)
async def question(ctx: Context) -> None:
    text = ctx.event.text.strip()
    if not text:
        ctx.say(ctx.t.gettext("Tuliskan pertanyaan Anda sebagai pesan teks."), rows(Button(ctx.t.gettext("Batal"),
                                                                                         GO, "menu")))
        return
    masked = mask_niks(text)
    await _open_with(ctx, TicketInput(PostKind.TEXT, masked), had_nik=masked != text)


def _label(ctx: Context) -> str:
    """The ticket's name for staff after its number: a masked phone number and the channel."""
    phone = ctx.account.phone if ctx.account else ctx.event.sender_phone
    channel = channel_label(ctx.chat.channel)
    return f"{mask_phone(phone)} · {channel}" if phone else f"{channel} · {staff_t().gettext('belum terhubung')}"


async def _open_with(ctx: Context, message: TicketInput, *, had_nik: bool) -> None:
    """Open the chat's ticket (or join its open one) with its first message, and say when an answer is due."""
    t = ctx.t
    await ctx.end_step()
    account_id = ctx.account.id if ctx.account else None
    ticket, created = await ctx.storage.tickets.open(ctx.chat.id, account_id, _label(ctx), ctx.actor, ctx.now())
    if not await _relay(ctx, ticket, message, had_nik=had_nik, acknowledge=False):
        return
    first = (t.gettext("✅ Pertanyaan Anda sudah kami teruskan ke petugas sebagai <b>tiket #{id}</b>.") if created else
             t.gettext("✅ Pesan Anda sudah kami teruskan ke petugas (<b>tiket #{id}</b>, yang masih terbuka)."))
    lines = [first.format(id=ticket.id), _due_text(ctx, ticket.waiting_since or ctx.now()),
             t.gettext("Selama tiket terbuka, pesan yang Anda kirim di sini diteruskan ke petugas. Menu dan perintah"
                       " tetap bisa dipakai.")]
    ctx.say("\n\n".join(lines), _ticket_buttons(ctx, ticket))


async def _relay(ctx: Context, ticket: Ticket, message: TicketInput, *, had_nik: bool, acknowledge: bool = True
                 ) -> bool:
    """Keep the applicant's message for the ticket's topic; False when refused (flooding: told once)."""
    t = ctx.t
    config = ctx.config.handoff
    received = await ctx.storage.tickets.receive(ticket.id, ctx.actor, message, ctx.now(), config.flood_messages,
                                                 config.flood_window)
    if received.refused:
        if received.first_refusal:
            ctx.say(t.gettext("Anda mengirim terlalu banyak pesan dalam waktu singkat. Pesan ini belum diteruskan ke"
                              " petugas: tunggu {n} detik, lalu kirim lagi.").format(
                n=int(config.flood_window.total_seconds())))
        return False
    if had_nik:  # the router deletes the message where the platform allows (one rule for a NIK)
        ctx.say(t.gettext("Nomor 16 digit (NIK) di pesan Anda kami samarkan sebelum diteruskan ke petugas. Jangan"
                          " kirim NIK lewat chat: petugas tidak memerlukannya."))
    elif acknowledge and (received.previous_at is None or ctx.now() - received.previous_at > ACK_QUIET):
        ctx.say(t.gettext("Pesan Anda sudah diteruskan ke petugas (tiket #{id}). Balasan akan dikirim ke chat"
                          " ini.").format(id=ticket.id), _ticket_buttons(ctx, ticket))
    return True


async def _relay_text(ctx: Context, ticket: Ticket) -> None:
    text = ctx.event.text.strip()
    masked = mask_niks(text)
    await _relay(ctx, ticket, TicketInput(PostKind.TEXT, masked), had_nik=masked != text)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


async def _media(ctx: Context, ticket: Ticket | None) -> TicketInput | None:
    """A photo or document the ticket's topic can show, or None after saying why not (and noting it for staff)."""
    t, event = ctx.t, ctx.event
    file = event.photo or event.document
    if file is None:
        return None
    limit = ctx.config.handoff.max_file_bytes
    what = staff_t().gettext("foto") if event.photo else escape(file.file_name or "dokumen")
    if not event.can.files_to_desk:  # e.g. a WhatsApp media id means nothing to Telegram: a note instead
        if ticket is not None:
            await ctx.storage.tickets.note(ticket.id, staff_t().gettext(
                "📎 Pemohon mengirim {what} lewat WhatsApp. Berkas dari WhatsApp belum bisa diteruskan ke grup ini:"
                " minta pemohon menuliskan isinya.").format(what=what), ctx.now())
        ctx.say(t.gettext("Foto dan berkas dari WhatsApp belum bisa diteruskan ke petugas. Tuliskan isinya sebagai"
                          " pesan teks (tanpa NIK)."))
        return None
    if file.size > limit:
        if ticket is not None:
            await ctx.storage.tickets.note(ticket.id, staff_t().gettext(
                "📎 Pemohon mencoba mengirim {what} sebesar {size} MB: terlalu besar, tidak diteruskan.").format(
                what=what, size=_megabytes(file.size)), ctx.now())
        ctx.say(t.gettext("Berkas itu terlalu besar ({size} MB). Batasnya {limit} MB: kirim berkas yang lebih kecil,"
                          " atau tuliskan isinya.").format(size=_megabytes(file.size), limit=_megabytes(limit)))
        return None
    caption = event.text.strip()
    kind = PostKind.PHOTO if event.photo else PostKind.DOCUMENT
    return TicketInput(kind, mask_niks(caption), file.file_id, mask_niks(file.file_name) or None, file.size)


async def unknown(ctx: Context) -> None:
    """An unknown command (the router's `menu` fallback): the menu. Text while a ticket is open goes to staff."""
    ticket = await _current(ctx) if ctx.event.kind is EventKind.TEXT else None
    if ticket is not None:
        await _relay_text(ctx, ticket)
        return
    await menu.unknown(ctx)


async def free_text(router: Router, ctx: Context) -> None:
    """Free text nothing else took: to the open ticket, where staff answer it; else understood and answered
    (handlers/freetext.py), where the second miss in a row offers a person."""
    ticket = await _current(ctx)
    if ticket is not None:
        await _relay_text(ctx, ticket)
        return
    await freetext.respond(router, ctx)


async def links(ctx: Context) -> None:
    """A message with a link: for staff while a ticket is open; else the anti-scam check."""
    ticket = await _current(ctx)
    if ticket is not None:
        await _relay_text(ctx, ticket)
        return
    await scam.unasked(ctx)


async def document(ctx: Context) -> None:
    """A photo or file: the question of a new ticket, or for the open one; else what it was before (admin uploads,
    the applicant answer)."""
    if ctx.step is Step.HANDOFF_AWAIT_QUESTION:
        message = await _media(ctx, None)
        if message is not None:
            await _open_with(ctx, message, had_nik=False)
        return
    if ctx.step in (None, Step.MENU_MISSED):
        ticket = await _current(ctx)
        if ticket is not None:
            message = await _media(ctx, ticket)
            if message is not None:
                await _relay(ctx, ticket, message, had_nik=False)
            return
    if ctx.event.photo is not None and ctx.role is Role.APPLICANT:
        await menu.unsupported(ctx)  # an applicant's photo outside a ticket: the answer it always had
        return
    await admin.document_received(ctx)


async def unsupported(ctx: Context) -> None:
    """A sticker, voice note, location (or, on WhatsApp, a photo): staff are told that something came."""
    ticket = await _current(ctx)
    if ticket is None and ctx.step is not Step.HANDOFF_AWAIT_QUESTION:
        await menu.unsupported(ctx)
        return
    t = ctx.t
    if ticket is not None:
        await ctx.storage.tickets.note(ticket.id, staff_t().gettext(
            "📎 Pemohon mengirim stiker, pesan suara, video, atau foto WhatsApp yang belum bisa diteruskan. Minta"
            " pemohon menuliskan isinya."), ctx.now())
    ctx.say(t.gettext("Stiker, pesan suara, video, lokasi, dan foto WhatsApp belum bisa diteruskan ke petugas."
                      " Tuliskan pesan Anda sebagai teks."))


# --- closing and rating ------------------------------------------------------------------------------------------
def rating_reply(t: Translator, ticket_id: int, *, by_staff: bool) -> Reply:
    """The applicant's "how did we do": five buttons (also queued in the outbox when staff close)."""
    closed = (t.gettext("Tiket #{id} sudah ditutup oleh petugas.") if by_staff else
              t.gettext("Tiket #{id} sudah ditutup.")).format(id=ticket_id)
    text = closed + " " + t.gettext("Terima kasih telah menghubungi kami.\nBagaimana pelayanan petugas? Pilih nilai 1"
                                    " (buruk) sampai 5 (sangat baik).")
    buttons = rows(*(Button(f"{n} ⭐", RATE, f"{ticket_id}:{n}") for n in RATINGS), per_row=len(RATINGS))
    return Reply(text, buttons)


async def _close_own(ctx: Context, ticket: Ticket) -> None:
    note = staff_t().gettext("✅ Pemohon menandai masalah selesai. Tiket ditutup.")
    await ctx.storage.tickets.close(ticket.id, ctx.actor, ctx.role.value, note, ctx.now())
    reply = rating_reply(ctx.t, ticket.id, by_staff=False)
    ctx.say(reply.text, reply.buttons)


@routes.command("selesai", "done")
async def close_command(ctx: Context) -> None:
    ticket = await _current(ctx)
    if ticket is None:
        show_menu(ctx, ctx.t.gettext("Anda tidak punya tiket bantuan yang terbuka."))
        return
    await _close_own(ctx, ticket)


@routes.action(CLOSE)
async def close_button(ctx: Context) -> None:
    arg = ctx.event.arg
    ticket_id = parse_int(arg)
    ticket = await ctx.storage.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.chat_id != ctx.chat.id:  # stale or forged: never someone else's ticket
        await menu.unknown_action(ctx)
        return
    if not ticket.is_open:
        show_menu(ctx, ctx.t.gettext("Tiket #{id} sudah ditutup.").format(id=ticket.id))
        return
    await _close_own(ctx, ticket)


@routes.action(RATE)
async def rate(ctx: Context) -> None:
    t = ctx.t
    ticket_text, _, score_text = ctx.event.arg.partition(":")
    ticket_id, score = parse_int(ticket_text), parse_int(score_text, max_digits=1)
    if ticket_id is None or score is None or score not in RATINGS:
        await menu.unknown_action(ctx)
        return
    note = staff_t().gettext("⭐ Pemohon memberi nilai {n}/5.").format(n=score)
    if await ctx.storage.tickets.rate(ticket_id, ctx.chat.id, score, ctx.actor, note, ctx.now()):
        show_menu(ctx, t.gettext("Terima kasih atas penilaian Anda!"))
        return
    ticket = await ctx.storage.tickets.get(ticket_id)
    if ticket is None or ticket.chat_id != ctx.chat.id or ticket.is_open:
        await menu.unknown_action(ctx)
        return
    show_menu(ctx, t.gettext("Anda sudah memberi nilai untuk tiket ini. Terima kasih!"))

