"""What the desk worker (bot/channels/telegram/topics.py) posts in the support group: a ticket's topic name, its
first post (the ticket and the applicant's state card), and each applicant message as staff see it."""

from __future__ import annotations

from handlers.api import Event, EventKind
from handlers.context import Services
from handlers.handoff.shared import SYSTEM, applicant_of, desk_context, staff_t
from handlers.roles import Role
from handlers.router import escape
from handlers.support import person_text
from handlers.workhours import day_and_time
from storage.models import PostKind, Ticket, TicketMessage


def topic_name(ticket: Ticket) -> str:
    return f"#{ticket.id} · {ticket.label}"


async def ticket_card(services: Services, ticket: Ticket, *, recreated: bool) -> str:
    """The first post of a ticket's topic: the ticket, how to answer, and the applicant's state card (audited as
    a look-up: the applicant's /akses shows that staff saw it)."""
    event = Event(services.config.handoff.channel, services.config.handoff.chat_id or "", SYSTEM, EventKind.TEXT)
    ctx = desk_context(services, event, Role.SUPPORT)
    t = ctx.t
    lines = [t.gettext("♻️ Topik tiket ini sebelumnya terhapus; ini topik barunya.")] if recreated else []
    lines.append(t.gettext("🎫 <b>Tiket #{id}</b> · {label} · dibuka {time}").format(
        id=ticket.id, label=escape(ticket.label), time=t.time(ticket.opened_at)))
    if ticket.waiting_since and ticket.is_open:
        lines.append(t.gettext("Jawab paling lambat {due}.").format(
            due=day_and_time(t, services.config.handoff.due(ticket.waiting_since))))
    lines.append(t.gettext("Tulis balasan di topik ini: pesan Anda diteruskan ke pemohon. Perintah: /cari · /buka"
                           " ALASAN · /lepas ALASAN · /selesai"))
    person = await applicant_of(ctx, ticket)
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

