"""/siaran_status: the progress of recent broadcasts and result announcements, with pause, resume and cancel."""

from __future__ import annotations

from datetime import timedelta

from handlers.admin.shared import (
    number,
    routes,
    shorten,
)
from handlers.api import Button, rows
from handlers.context import Context
from handlers.digits import parse_int
from handlers.i18n import N_, Translator
from handlers.router import ADMINS, GO
from storage.models import (
    Broadcast,
    BroadcastKind,
    BroadcastState,
    BroadcastStats,
)

RECENT_STATUS = timedelta(hours=24)
STATUS_LIMIT = 5
STATUS_REFRESH = "adm_st"
STATUS_PAUSE = "adm_st_pause"
STATUS_RESUME = "adm_st_resume"
STATUS_CANCEL = "adm_st_cancel"
STATUS_CANCEL_OK = "adm_st_cancel_ok"

STATE_LABELS = {BroadcastState.DRAFT: N_("draf"), BroadcastState.SCHEDULED: N_("dijadwalkan"),
                BroadcastState.RUNNING: N_("berjalan"), BroadcastState.PAUSED: N_("dijeda"),
                BroadcastState.CANCELLED: N_("dibatalkan"), BroadcastState.DONE: N_("selesai")}


# --- /siaran_status --------------------------------------------------------------------------------------------
@routes.command("siaran_status", "status", roles=ADMINS)
async def status(ctx: Context) -> None:
    await _status(ctx, replace_message=False)


@routes.action(STATUS_REFRESH, roles=ADMINS)
async def status_refresh(ctx: Context) -> None:
    await _status(ctx, replace_message=True)


def _title(t: Translator, b: Broadcast) -> str:
    if b.kind is BroadcastKind.RESULTS:
        return t.gettext("#{id} Hasil gelombang {n}").format(id=b.id, n=b.wave)
    return t.gettext("#{id} Siaran “{text}”").format(id=b.id, text=shorten(b.body or "", 40))


def status_text(t: Translator, s: BroadcastStats) -> str:
    b = s.broadcast
    state = t.gettext(STATE_LABELS[b.state])
    if b.state is BroadcastState.SCHEDULED and b.scheduled_at:
        state = t.gettext("dijadwalkan {time}").format(time=t.time(b.scheduled_at))
    lines = [f"<b>{_title(t, b)}</b>: {state}"]
    if b.state is not BroadcastState.SCHEDULED:
        lines.append(t.gettext(
            "Terkirim {sent} · antre {pending} · gagal {failed} · diblokir {blocked}"
        ).format(sent=number(t, s.sent), pending=number(t, s.pending + s.sending), failed=number(t, s.failed),
                 blocked=number(t, s.blocked)))
        if s.cancelled:
            lines.append(t.gettext("Tidak dikirim (dibatalkan / berhenti berlangganan): {n}").format(
                n=number(t, s.cancelled)))
        rate = s.sent_last_minute / 60
        if b.state is BroadcastState.RUNNING:
            waiting = s.pending + s.sending
            if not b.expanded:
                lines.append(t.gettext("Daftar penerima masih disusun."))
            if rate > 0:
                eta = max(1, round(waiting / rate / 60)) if waiting else 0
                lines.append(t.gettext("Kecepatan {rate} pesan/detik · perkiraan selesai {eta} menit lagi").format(
                    rate=f"{rate:.1f}".replace(".", "," if t.locale == "id" else "."), eta=eta))
            elif waiting:
                lines.append(t.gettext("Belum ada pesan terkirim dalam 1 menit terakhir."))
        if b.throttled:
            lines.append(t.gettext("Diminta menunggu oleh platform (429): {n} kali").format(n=number(t, b.throttled)))
    return "\n".join(lines)


async def _status(ctx: Context, *, replace_message: bool) -> None:
    t = ctx.t
    now = ctx.now()
    broadcasts = await ctx.storage.outbox.recent(STATUS_LIMIT, now - RECENT_STATUS)
    if not broadcasts:
        ctx.say(t.gettext("Belum ada siaran atau pengumuman yang berjalan atau selesai dalam 24 jam terakhir."),
                rows(Button(t.gettext("Buat siaran"), GO, "siaran"), Button(t.gettext("Perbarui"), STATUS_REFRESH)),
                replace=replace_message)
        return
    blocks, buttons = [], []
    for b in broadcasts:
        blocks.append(status_text(t, await ctx.storage.outbox.stats(b, now)))
        if b.state is BroadcastState.RUNNING:
            buttons.append(Button(t.gettext("Jeda #{id}").format(id=b.id), STATUS_PAUSE, str(b.id)))
        if b.state is BroadcastState.PAUSED:
            buttons.append(Button(t.gettext("Lanjutkan #{id}").format(id=b.id), STATUS_RESUME, str(b.id)))
        if b.state in (BroadcastState.RUNNING, BroadcastState.PAUSED, BroadcastState.SCHEDULED):
            buttons.append(Button(t.gettext("Batalkan #{id}").format(id=b.id), STATUS_CANCEL, str(b.id)))
    buttons.append(Button(t.gettext("Perbarui"), STATUS_REFRESH))
    updated = t.gettext("Diperbarui {time}").format(time=t.time(now))
    ctx.say("\n\n".join([*blocks, "<i>" + updated + "</i>"]), rows(*buttons, per_row=2), replace=replace_message)


async def _change_state(ctx: Context, new: BroadcastState, allowed: list[BroadcastState], action: str) -> None:
    t = ctx.t
    broadcast_id = parse_int(ctx.event.arg)
    changed = await ctx.storage.outbox.set_state(broadcast_id, new, allowed) if broadcast_id else None
    if changed is None or changed.kind is BroadcastKind.NOTICE:
        ctx.say(t.gettext("Siaran itu tidak bisa diubah lagi (sudah selesai atau dibatalkan)."))
        await _status(ctx, replace_message=False)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, action, f"broadcast:{changed.id}", None)
    await _status(ctx, replace_message=True)


@routes.action(STATUS_PAUSE, roles=ADMINS)
async def status_pause(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.PAUSED, [BroadcastState.RUNNING], "broadcast_pause")


@routes.action(STATUS_RESUME, roles=ADMINS)
async def status_resume(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.RUNNING, [BroadcastState.PAUSED], "broadcast_resume")


@routes.action(STATUS_CANCEL, roles=ADMINS)
async def status_cancel(ctx: Context) -> None:
    t = ctx.t
    broadcast_id = parse_int(ctx.event.arg)
    broadcast = await ctx.storage.outbox.get(broadcast_id) if broadcast_id else None
    if broadcast is None or broadcast.state not in (BroadcastState.RUNNING, BroadcastState.PAUSED,
                                                    BroadcastState.SCHEDULED):
        ctx.say(t.gettext("Siaran itu tidak bisa diubah lagi (sudah selesai atau dibatalkan)."))
        return
    ctx.say(t.gettext("Batalkan {title}? Pesan yang belum terkirim tidak akan dikirim. Ini tidak bisa diulang.").format(
        title=_title(t, broadcast)),
        rows(Button(t.gettext("Ya, batalkan"), STATUS_CANCEL_OK, str(broadcast.id)),
             Button(t.gettext("Tidak"), STATUS_REFRESH), per_row=2))


@routes.action(STATUS_CANCEL_OK, roles=ADMINS)
async def status_cancel_ok(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.CANCELLED,
                        [BroadcastState.RUNNING, BroadcastState.PAUSED, BroadcastState.SCHEDULED], "broadcast_cancel")
