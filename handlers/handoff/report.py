"""/tiket (admins): open tickets and how long each has waited, the desk's state, and per-staff counts and ratings."""

from __future__ import annotations

from datetime import timedelta

from handlers.admin.staff import shown_principal
from handlers.context import Context
from handlers.handoff.shared import STAFF_PERIOD, routes
from handlers.i18n import Translator
from handlers.router import ADMINS, escape

TICKET_PAGE = 10  # open tickets listed by /tiket


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
