"""Talk to a person: the hand-off from the bot to support staff, and back (issue 8).

Applicants: "Hubungi petugas" (/petugas, on the menu and after a failure) asks for their question, which opens a
ticket (or joins their open one) with the time an answer is due, counted in working hours (WIB). While the ticket
is open, their free text, photos and documents go to staff (NIKs masked, at most so many messages a minute) and
the bot does not answer that text itself; menus and commands still work. "Masalah selesai" (/selesai) closes it
and asks for a 1-5 rating.

Staff: one Telegram supergroup with topics (SUPPORT_CHAT_ID). Each ticket gets its own topic, opened with the
applicant's state card (the /cari view), where the desk worker (bot/channels/telegram/topics.py) posts what the
applicant sends. Only support and admin roles are heard in the group. What they write in a ticket's topic goes to
the applicant through the outbox (Telegram or WhatsApp); there /cari (this applicant), /buka ALASAN, /lepas ALASAN
and /selesai work on the ticket's applicant. /tiket (admins): open tickets, waiting times, per-staff counts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime, timedelta

from handlers import admin, freetext, menu, scam
from handlers.admin.staff import shown_principal
from handlers.api import AnyButton, Button, Event, EventKind, Outgoing, Reply, notice_body, rows
from handlers.context import Context, Services, Step
from handlers.digits import parse_int
from handlers.i18n import DEFAULT_LOCALE, Translator, translator
from handlers.identity import mask_niks, mask_phone
from handlers.menu import show_menu
from handlers.roles import Channel, Role
from handlers.router import ADMINS, GO, STAFF, Router, Routes, escape
from handlers.support import CHANNEL_LABELS, Person, find_people, person_text
from handlers.workhours import day_and_time
from storage import StorageError
from storage.models import Chat, ChatSnapshot, PostKind, Ticket, TicketInput, TicketMessage

log = logging.getLogger(__name__)
routes = Routes()

CLOSE = "ho_done"  # the applicant's "Masalah selesai" (arg: ticket id)
RATE = "ho_rate"  # the applicant's rating (arg: "ticket:score")
RATINGS = range(1, 6)
ACK_QUIET = timedelta(minutes=5)  # a relayed message is acknowledged when the previous one is older than this
WHATSAPP_WINDOW = timedelta(hours=24)  # Meta's customer-service window: later, the outbox sends a template
TICKET_PAGE = 10  # open tickets listed by /tiket
STAFF_PERIOD = timedelta(days=7)  # /tiket and /metrics count closed tickets over this period
DESK_ROLE_STATUS = "administrator"  # the bot can make topics only as an admin of the support group
SYSTEM = "system"
# What works in the support group (in a ticket's topic /cari, /buka and /lepas name its applicant).
IN_TOPIC = {"cari": "cari", "find": "cari", "buka": "buka", "unlock": "buka", "lepas": "lepas", "release": "lepas"}
DESK_COMMANDS = frozenset({*IN_TOPIC, "tiket", "tickets", "staf", "staff", "audit"})
HELP_COMMANDS = {"bantuan": "staf", "help": "staf"}  # in the group, help is the staff help (not the applicant menu)
CLOSE_COMMANDS = frozenset({"selesai", "done"})
_TARGET = re.compile(r"^[+(]?\d[\d\-().]{3,}", re.ASCII)  # a phone, card or chat number (a reason starts with a word)


def staff_t() -> Translator:
    """Staff read the desk in the default language."""
    return translator(DEFAULT_LOCALE)


# --- applicants --------------------------------------------------------------------------------------------------
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
    await ctx.set_step(Step.HANDOFF_AWAIT_QUESTION)
    ctx.say(t.gettext("Tulis pertanyaan Anda untuk petugas dalam satu pesan; boleh dengan foto atau dokumen"
                      " pendukung. Petugas akan membalas di chat ini.\n\n⚠️ Jangan kirim NIK, PIN, kode OTP, atau kata"
                      " sandi: petugas tidak pernah memintanya."),
            rows(Button(t.gettext("Batal"), GO, "menu")))


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
    channel = CHANNEL_LABELS.get(ctx.chat.channel, ctx.chat.channel)
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
    if event.channel is not Channel.TELEGRAM:  # a WhatsApp media id means nothing to Telegram: a note instead
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


# --- the support group -------------------------------------------------------------------------------------------
def _desk_snapshot(event: Event, now: datetime) -> ChatSnapshot:
    """The group is no applicant's chat: it gets no row (it must never be in a broadcast's audience)."""
    chat = Chat(id=0, channel=event.channel.value, external_id=event.chat_id, user_id=event.user_id,
                locale=DEFAULT_LOCALE, account_id=None, opted_out=True, blocked=False, video_watched_at=None,
                platforms_compared_at=None, training_chosen_at=None, training_bought_at=None, first_seen=now,
                last_seen=now)
    return ChatSnapshot(chat, None, None)


def _desk_context(services: Services, event: Event, role: Role) -> Context:
    return Context(event=event, services=services, snapshot=_desk_snapshot(event, services.clock()), role=role)


async def desk(router: Router, event: Event) -> Outgoing | None:
    """A group's event: the support group's is handled here (staff only); None leaves other groups to the router."""
    services = router.services
    config = services.config.handoff
    ours = config.enabled and event.channel is Channel.TELEGRAM and event.chat_id == config.chat_id
    if event.kind is EventKind.MEMBERSHIP:  # the bot joined or left a group: nothing to say to any group
        if ours:
            await _guarded(_membership(router, event))
        return Outgoing()
    if not ours:
        return None
    out = Outgoing()

    async def handle() -> None:
        grants = await services.storage.roles.granted()
        granted = next((g.role for g in grants if g.channel == event.channel.value and g.user_id == event.user_id),
                       None)
        role = router.role_of(event, granted)
        if role is Role.APPLICANT:
            log.info("support group: a member without a staff role wrote; ignored")
            return
        ctx = _desk_context(services, event, role)
        ctx.out = out
        await _desk_event(router, ctx)

    problem = await _guarded(handle())
    return Outgoing(replies=[Reply(problem)]) if problem is not None else out


async def _guarded(work: Awaitable[None]) -> str | None:
    """Await `work`; on failure log it and return what to tell staff."""
    t = staff_t()
    try:
        await work
    except StorageError:
        log.exception("support group: storage failed")
        return t.gettext("Sistem sedang sibuk. Mohon coba lagi dalam beberapa menit.")
    except Exception:
        log.exception("support group: handler failed")
        return t.gettext("Maaf, terjadi kesalahan di sistem kami. Silakan coba lagi.")
    return None


async def _desk_event(router: Router, ctx: Context) -> None:
    event, t = ctx.event, ctx.t
    thread = event.thread_id
    topic = parse_int(thread or "")
    ticket = await ctx.storage.tickets.by_topic(topic) if topic is not None else None
    match event.kind:
        case EventKind.COMMAND:
            await _desk_command(router, ctx, ticket)
        case EventKind.ACTION:
            await _desk_action(router, ctx)
        case EventKind.TEXT if ticket is not None:
            await _answer(ctx, ticket)
        case EventKind.TEXT if thread is None:
            ctx.say(t.gettext("Pesan di topik umum tidak diteruskan ke siapa pun. Untuk menjawab pemohon, tulis di"
                              " topik tiketnya (namanya diawali nomor tiket, mis. #12). Daftar tiket terbuka (admin):"
                              " /tiket."))
        case EventKind.TEXT:
            ctx.say(t.gettext("Topik ini bukan topik tiket: pesan di sini tidak diteruskan ke pemohon. Tulis di"
                              " topik tiketnya (namanya diawali nomor tiket, mis. #12)."))
        case EventKind.DOCUMENT | EventKind.UNSUPPORTED if ticket is not None:
            ctx.say(t.gettext("Hanya pesan teks yang diteruskan ke pemohon. Tuliskan isinya, atau kirim tautannya."))
        case EventKind.EDITED if ticket is not None:
            ctx.say(t.gettext("Pesan yang diubah tidak diteruskan ke pemohon. Kirim koreksinya sebagai pesan baru."))
        case _:
            pass


async def _desk_command(router: Router, ctx: Context, ticket: Ticket | None) -> None:
    t, name = ctx.t, ctx.event.command
    name = HELP_COMMANDS.get(name, name)
    if name in CLOSE_COMMANDS:
        if ticket is None:
            ctx.say(t.gettext("Tulis /selesai di topik tiket yang ingin ditutup."))
        else:
            await _staff_close(ctx, ticket)
        return
    if ticket is not None and name in IN_TOPIC:
        await _about_applicant(router, ctx, ticket, IN_TOPIC[name])
        return
    if name in DESK_COMMANDS and await router.run_command(ctx, name):
        return
    ctx.say(t.gettext("Perintah itu tidak dipakai di grup petugas. Di topik tiket: /cari, /buka ALASAN, /lepas"
                      " ALASAN, /selesai. Perintah lain: di chat pribadi dengan bot."))


async def _desk_action(router: Router, ctx: Context) -> None:
    """Buttons in the group: the confirmations of /buka and /lepas (role checked again), "Batal"."""
    event = ctx.event
    if event.action == GO:
        if event.arg in DESK_COMMANDS and await router.run_command(ctx, event.arg):
            return
        ctx.say(ctx.t.gettext("Dibatalkan."), replace=True)
        return
    route = router.actions.get(event.action)
    if route is not None and route.roles <= STAFF and router.allowed(route, ctx):
        await route.handler(ctx)
        return
    ctx.say(ctx.t.gettext("Tombol ini tidak berlaku di grup petugas."))


async def _person(ctx: Context, ticket: Ticket) -> Person | None:
    """The ticket's applicant as support sees them (their account, if the chat is linked, and its chats)."""
    people, _ = await find_people(ctx, f"chat:{ticket.chat_id}")
    return people[0] if people else None


async def _about_applicant(router: Router, ctx: Context, ticket: Ticket, command: str) -> None:
    """/cari, /buka ALASAN, /lepas ALASAN in a ticket's topic: about its applicant, audited like anywhere."""
    t = ctx.t
    if (command == "cari" and ctx.args) or _names_someone(ctx.args):  # as in a private chat: e.g. the phone number
        await router.run_command(ctx, command)  # of a lock-out, when the applicant's chat is not linked
        return
    person = await _person(ctx, ticket)
    if person is None:
        ctx.say(t.gettext("Data pemohon tiket ini tidak ditemukan lagi."))
        return
    if command == "cari":
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup", person.subject, f"tiket #{ticket.id}")
        ctx.say(await person_text(ctx, person))
        return
    if len(ctx.args) < 3:
        ctx.say(t.gettext("Tulis alasannya (dicatat di log audit): <code>/{command} ALASAN</code>, mis."
                          " <code>/{command} pemohon menelepon</code>.").format(command=command))
        return
    event = replace(ctx.event, text=f"{person.reference} {ctx.args}")
    await router.run_command(Context(event=event, services=ctx.services, snapshot=ctx.snapshot, role=ctx.role,
                                     out=ctx.out), command)


def _names_someone(args: str) -> bool:
    """`/buka 0811... ALASAN`, `/lepas akun:17 ALASAN`: the staff member names the person themselves."""
    first = args.split()[0] if args.split() else ""
    return bool(_TARGET.match(first)) or ":" in first


async def _answer(ctx: Context, ticket: Ticket) -> None:
    """What staff write in a ticket's topic goes to its applicant, through the outbox."""
    t = ctx.t
    if not ticket.is_open:
        ctx.say(t.gettext("Tiket #{id} sudah ditutup: pesan ini tidak diteruskan. Pemohon bisa membuka tiket baru"
                          " dengan /petugas.").format(id=ticket.id))
        return
    chat = await ctx.storage.chats.get(ticket.chat_id)
    if chat is None:
        ctx.say(t.gettext("Chat pemohon tiket ini tidak ditemukan lagi."))
        return
    text = ctx.event.text.strip()
    masked = mask_niks(text)
    own = translator(chat.locale)  # the applicant reads it in their chat's language
    body = own.gettext("💬 <b>Petugas Prakerja</b> (tiket #{id}):").format(id=ticket.id) + "\n" + escape(masked)
    broadcast = await ctx.storage.outbox.notice(chat.id, body, ctx.actor, ticket.account_id)
    await ctx.storage.tickets.answered(ticket.id, ctx.actor, ctx.role.value, masked, broadcast, ctx.now())
    notes = []
    if masked != text:
        notes.append(t.gettext("Nomor 16 digit di pesan Anda disamarkan sebelum dikirim ke pemohon."))
    if chat.blocked:
        notes.append(t.gettext("Pemohon memblokir bot: pesan ini mungkin tidak sampai."))
    if chat.channel == Channel.WHATSAPP.value:
        last = (await ctx.storage.whatsapp.last_inbound([chat.external_id])).get(chat.external_id)
        if last is None or ctx.now() - last >= WHATSAPP_WINDOW:
            notes.append(t.gettext("Pemohon terakhir menulis lebih dari 24 jam lalu: pesan dikirim sebagai template"
                                   " WhatsApp."))
    if notes:
        ctx.say("\n".join(notes))


async def _staff_close(ctx: Context, ticket: Ticket) -> None:
    t = ctx.t
    closed = await ctx.storage.tickets.close(ticket.id, ctx.actor, ctx.role.value, "", ctx.now())
    if closed is None:
        ctx.say(t.gettext("Tiket #{id} sudah ditutup.").format(id=ticket.id))
        return
    chat = await ctx.storage.chats.get(ticket.chat_id)
    if chat is not None:  # the rating question, with its buttons, through the outbox
        reply = rating_reply(translator(chat.locale), ticket.id, by_staff=True)
        await ctx.storage.outbox.notice(chat.id, notice_body(reply), ctx.actor, ticket.account_id)
    ctx.say(t.gettext("Tiket #{id} ditutup; pemohon diminta memberi nilai 1-5. Topik ini ikut ditutup.").format(
        id=ticket.id))


async def _membership(router: Router, event: Event) -> None:
    """The bot was added to, promoted in, or removed from the support group: audited, and admins are told."""
    storage = router.services.storage
    usable = event.text == DESK_ROLE_STATUS
    action = "desk_added" if usable else "desk_removed"
    await storage.audit.record(str(event.principal), router.role_of(event).value, action, f"group:{event.chat_id}",
                               event.text)
    log.warning("support group: the bot's status is now %r: %s", event.text,
                "posting tickets" if usable else "tickets wait in the database until it is an admin again")
    summary = await storage.tickets.summary(router.services.clock() - STAFF_PERIOD, 0)
    for principal in router.services.config.admins:
        if principal.channel is not Channel.TELEGRAM:
            continue
        chat = await storage.chats.find(Channel.TELEGRAM.value, principal.user_id)
        if chat is None:  # never wrote to the bot: no private chat to tell
            continue
        t = translator(chat.locale)
        if usable:
            text = t.gettext("✅ Bot menjadi admin di grup petugas: pesan pemohon yang tertunda ({n}) akan diteruskan"
                             " ke topik tiketnya.")
        else:
            text = t.gettext("⚠️ Bot tidak lagi bisa memakai grup petugas (status: {status}). Tiket dan pesan pemohon"
                             " tetap disimpan ({n} menunggu) dan akan diteruskan setelah bot dijadikan admin lagi"
                             " dengan izin mengelola topik. Pemohon tetap dilayani bot.")
        await storage.outbox.notice(chat.id, text.format(n=summary.queued_posts, status=escape(event.text)), SYSTEM)


# --- what the desk worker posts (bot/channels/telegram/topics.py) ------------------------------------------------
def topic_name(ticket: Ticket) -> str:
    return f"#{ticket.id} · {ticket.label}"


async def ticket_card(services: Services, ticket: Ticket, *, recreated: bool) -> str:
    """The first post of a ticket's topic: the ticket, how to answer, and the applicant's state card (audited as
    a look-up: the applicant's /akses shows that staff saw it)."""
    event = Event(Channel.TELEGRAM, services.config.handoff.chat_id or "", SYSTEM, EventKind.TEXT)
    ctx = _desk_context(services, event, Role.SUPPORT)
    t = ctx.t
    lines = [t.gettext("♻️ Topik tiket ini sebelumnya terhapus; ini topik barunya.")] if recreated else []
    lines.append(t.gettext("🎫 <b>Tiket #{id}</b> · {label} · dibuka {time}").format(
        id=ticket.id, label=escape(ticket.label), time=t.time(ticket.opened_at)))
    if ticket.waiting_since and ticket.is_open:
        lines.append(t.gettext("Jawab paling lambat {due}.").format(
            due=day_and_time(t, services.config.handoff.due(ticket.waiting_since))))
    lines.append(t.gettext("Tulis balasan di topik ini: pesan Anda diteruskan ke pemohon. Perintah: /cari · /buka"
                           " ALASAN · /lepas ALASAN · /selesai"))
    person = await _person(ctx, ticket)
    if person is not None:
        await ctx.storage.audit.record(SYSTEM, Role.SUPPORT.value, "lookup", person.subject, f"tiket #{ticket.id}")
        lines += ["", await person_text(ctx, person)]
    return "\n".join(lines)


def post_text(message: TicketMessage) -> str:
    """A message as staff see it in the topic (HTML): the applicant's words escaped, the bot's notes as they are."""
    t = staff_t()
    match message.kind:
        case PostKind.TEXT:
            return t.gettext("👤 <b>Pemohon</b>:") + "\n" + escape(message.body)
        case PostKind.PHOTO | PostKind.DOCUMENT:
            head = (t.gettext("👤 <b>Pemohon</b> mengirim foto") if message.kind is PostKind.PHOTO else
                    t.gettext("👤 <b>Pemohon</b> mengirim dokumen"))
            return head + (":\n" + escape(message.body) if message.body else "")
        case _:
            return message.body


# --- /tiket (admins) ---------------------------------------------------------------------------------------------
def waited(t: Translator, delta: timedelta) -> str:
    """'2 hari 3 jam', '1 jam 20 menit', '5 menit'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = []
    if days:
        parts.append(t.ngettext("{n} hari", "{n} hari", days).format(n=days))
    if hours:
        parts.append(t.ngettext("{n} jam", "{n} jam", hours).format(n=hours))
    if mins and not days:
        parts.append(t.ngettext("{n} menit", "{n} menit", mins).format(n=mins))
    return " ".join(parts) or t.gettext("kurang dari 1 menit")


@routes.command("tiket", "tickets", roles=ADMINS)
async def tickets(ctx: Context) -> None:
    t = ctx.t
    now = ctx.now()
    summary = await ctx.storage.tickets.summary(now - STAFF_PERIOD, TICKET_PAGE)
    lines = [t.gettext("<b>Tiket bantuan</b>: {open} terbuka, {waiting} menunggu jawaban.").format(
        open=summary.open, waiting=summary.waiting)]
    if not ctx.config.handoff.enabled:
        lines.append(t.gettext("⚠️ Grup petugas belum diatur (SUPPORT_CHAT_ID): pemohon tidak bisa menghubungi"
                               " petugas."))
    if summary.desk_removed_at is not None:
        lines.append(t.gettext("⚠️ Bot tidak bisa memakai grup petugas sejak {time}: pesan pemohon disimpan dan"
                               " diteruskan setelah bot dijadikan admin lagi.").format(
            time=t.time(summary.desk_removed_at)))
    if summary.queued_posts:
        lines.append(t.gettext("Pesan yang menunggu diteruskan ke grup petugas: {n}.").format(n=summary.queued_posts))
    for ticket in summary.oldest:
        status = (t.gettext("menunggu {time}").format(time=waited(t, now - ticket.waiting_since))
                  if ticket.waiting_since else t.gettext("sudah dijawab"))
        line = t.gettext("• #{id} · {label} · dibuka {opened} · {status}").format(
            id=ticket.id, label=escape(ticket.label), opened=t.time(ticket.opened_at), status=status)
        if ticket.assignee:
            line += " · " + t.gettext("petugas {who}").format(who=shown_principal(ticket.assignee))
        lines.append(line)
    if summary.open > len(summary.oldest):
        lines.append(t.gettext("… dan {n} tiket lain (terlama ditampilkan dulu).").format(
            n=summary.open - len(summary.oldest)))
    lines += ["", t.gettext("<b>Per petugas</b> (7 hari terakhir):")]
    for load in summary.staff:
        rating = (t.gettext("nilai rata-rata {avg} dari {n}").format(avg=f"{load.rating:.1f}", n=load.ratings)
                  if load.rating is not None else t.gettext("belum dinilai"))
        lines.append(t.gettext("• {who}: {open} terbuka, {closed} ditutup, {rating}").format(
            who=shown_principal(load.staff), open=load.open, closed=load.closed, rating=rating))
    if not summary.staff:
        lines.append(t.gettext("Belum ada tiket yang dijawab."))
    ctx.say("\n".join(lines))
