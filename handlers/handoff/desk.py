"""The support group (SUPPORT_CHAT_ID), a second router in front of the first: only support and admin roles are
heard. What they write in a ticket's topic goes to its applicant through the outbox; there /cari, /buka ALASAN,
/lepas ALASAN and /selesai work on the ticket's applicant; elsewhere the desk commands (/tiket, /staf, /audit).
The bot joining or leaving the group is audited and admins are told."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from dataclasses import replace

from handlers.admin.outbox import notice_buttons
from handlers.api import Event, EventKind, Outgoing, Reply
from handlers.context import Context
from handlers.digits import parse_int
from handlers.handoff.applicant import rating_reply
from handlers.handoff.shared import STAFF_PERIOD, SYSTEM, applicant_of, desk_context, staff_t
from handlers.i18n import translator
from handlers.identity import mask_niks
from handlers.roles import Channel, Role
from handlers.router import GO, STAFF, Router, escape
from handlers.support import person_text
from storage import StorageError
from storage.models import Ticket

log = logging.getLogger(__name__)

DESK_ROLE_STATUS = "administrator"  # the bot can make topics only as an admin of the support group
# What works in the support group (in a ticket's topic /cari, /buka and /lepas name its applicant).
IN_TOPIC = {"cari": "cari", "find": "cari", "buka": "buka", "unlock": "buka", "lepas": "lepas", "release": "lepas"}
DESK_COMMANDS = frozenset({*IN_TOPIC, "tiket", "tickets", "staf", "staff", "audit"})
HELP_COMMANDS = {"bantuan": "staf", "help": "staf"}  # in the group, help is the staff help (not the applicant menu)
CLOSE_COMMANDS = frozenset({"selesai", "done"})
_TARGET = re.compile(r"^[+(]?\d[\d\-().]{3,}", re.ASCII)  # a phone, card or chat number (a reason starts with a word)


async def desk(router: Router, event: Event) -> Outgoing | None:
    """A group's event: the support group's is handled here (staff only); None leaves other groups to the router."""
    services = router.services
    config = services.config.handoff
    ours = config.enabled and event.channel is config.channel and event.chat_id == config.chat_id
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
        ctx = desk_context(services, event, role)
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


async def _about_applicant(router: Router, ctx: Context, ticket: Ticket, command: str) -> None:
    """/cari, /buka ALASAN, /lepas ALASAN in a ticket's topic: about its applicant, audited like anywhere."""
    t = ctx.t
    if (command == "cari" and ctx.args) or _names_someone(ctx.args):  # as in a private chat: e.g. the phone number
        await router.run_command(ctx, command)  # of a lock-out, when the applicant's chat is not linked
        return
    person = await applicant_of(ctx, ticket)
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
    channel = Channel.named(chat.channel)
    window = channel.reply_window if channel else None
    if window is not None:  # outside the platform's window the outbox sends a template (WhatsApp's 24 hours)
        last = (await ctx.storage.whatsapp.last_inbound([chat.external_id])).get(chat.external_id)
        if last is None or ctx.now() - last >= window:
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
        await ctx.storage.outbox.notice(chat.id, reply.text, ctx.actor, ticket.account_id, notice_buttons(reply))
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
        if principal.channel is not router.services.config.handoff.channel:  # admins on the desk's platform
            continue
        chat = await storage.chats.find(principal.channel.value, principal.user_id)
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

