"""Waves and publishing results: /gelombang lists waves and schedules their announcement, /umumkan N queues every
linked applicant's result in the outbox."""

from __future__ import annotations

from handlers.admin.shared import (
    audit_time,
    example_date,
    number,
    parse_wib,
    routes,
    time_example,
)
from handlers.api import Button, rows
from handlers.context import Context, FlowState, Step
from handlers.digits import parse_int
from handlers.menu import show_menu
from handlers.roles import Role
from handlers.router import ADMINS, GO, escape
from storage.models import (
    Wave,
)

WAVE_TIME = "adm_wtime"
WAVE_NEW = "adm_wnew"
PUBLISH_ASK = "adm_pub"
PUBLISH_OK = "adm_pub_ok"


# --- /gelombang ------------------------------------------------------------------------------------------------
@routes.command("gelombang", "waves", roles=ADMINS)
async def waves(ctx: Context) -> None:
    t = ctx.t
    summaries = await ctx.storage.staff.wave_summaries()
    if not summaries:
        ctx.say(t.gettext("Belum ada gelombang. Impor data pendaftar dengan /impor, atau buat gelombang baru."),
                rows(Button(t.gettext("Gelombang baru"), WAVE_NEW)))
        return
    lines = [t.gettext("<b>Gelombang</b>")]
    buttons: list[Button] = []
    for s in summaries:
        wave = s.wave
        lines.append(t.gettext(
            "<b>Gelombang {n}</b>: {accounts} akun ({lolos} lolos, {tidak} tidak lolos), {linked} chat terhubung"
        ).format(n=wave.number, accounts=number(t, s.accounts), lolos=number(t, s.lolos),
                 tidak=number(t, s.tidak_lolos), linked=number(t, s.linked_chats)))
        when = t.time(wave.announce_at) if wave.announce_at else t.gettext("belum dijadwalkan")
        if wave.published_at:
            lines.append("  " + t.gettext("Diumumkan {time}").format(time=t.time(wave.published_at)))
        else:
            lines.append("  " + t.gettext("Jadwal pengumuman: {time}").format(time=when))
            buttons.append(Button(t.gettext("Jadwal {n}").format(n=wave.number), WAVE_TIME, str(wave.number)))
            if s.lolos + s.tidak_lolos:
                buttons.append(Button(t.gettext("Umumkan {n}").format(n=wave.number), PUBLISH_ASK, str(wave.number)))
    buttons.append(Button(t.gettext("Gelombang baru"), WAVE_NEW))
    ctx.say("\n".join(lines), rows(*buttons, per_row=2))


@routes.action(WAVE_TIME, roles=ADMINS)
async def wave_time_ask(ctx: Context) -> None:
    t = ctx.t
    wave_number = parse_int(ctx.event.arg)
    wave = await ctx.storage.waves.get(wave_number) if wave_number is not None else None
    if wave is None:
        ctx.say(t.gettext("Gelombang itu tidak ada. Lihat /gelombang."))
        return
    if wave.published:
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan; jadwalnya tidak bisa diubah lagi.").format(n=wave.number))
        return
    await ctx.set_step(Step.ADMIN_AWAIT_WAVE_TIME, FlowState(wave=wave.number))
    ctx.say(t.gettext("Ketik waktu pengumuman gelombang {n} (WIB).").format(n=wave.number) + "\n"
            + time_example(t, ctx.now()), rows(Button(t.gettext("Batal"), GO, "gelombang")))


@routes.action(WAVE_NEW, roles=ADMINS)
async def wave_new_ask(ctx: Context) -> None:
    t = ctx.t
    await ctx.set_step(Step.ADMIN_AWAIT_WAVE_TIME, FlowState())
    ctx.say(t.gettext("Ketik nomor gelombang baru dan waktu pengumumannya (WIB), contoh:"
                      " <code>5 {date} 17:00</code>.").format(date=example_date(ctx.now())),
            rows(Button(t.gettext("Batal"), GO, "gelombang")))


@routes.step(Step.ADMIN_AWAIT_WAVE_TIME)
async def wave_time_typed(ctx: Context) -> None:
    t = ctx.t
    if ctx.role is not Role.ADMIN:  # the role was revoked mid-flow
        await ctx.end_step()
        show_menu(ctx)
        return
    text = ctx.event.text.strip()
    cancel = rows(Button(t.gettext("Batal"), GO, "gelombang"))
    wave_number = ctx.state.wave
    if wave_number is None:
        first, _, text = text.partition(" ")
        wave_number = parse_int(first)
        if wave_number is None or wave_number == 0:
            ctx.say(t.gettext("Awali dengan nomor gelombang, contoh: <code>5 {date} 17:00</code>.").format(
                date=example_date(ctx.now())), cancel)
            return
        if await ctx.storage.waves.get(wave_number) is not None:
            ctx.say(t.gettext("Gelombang {n} sudah ada. Ubah jadwalnya dari /gelombang.").format(n=wave_number),
                    cancel)
            return
    when = parse_wib(text, ctx.now())
    if when is None:
        ctx.say(t.gettext("Waktu itu tidak saya kenali.") + " " + time_example(t, ctx.now()), cancel)
        return
    if when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang.") + " " + time_example(t, ctx.now()),
                cancel)
        return
    existing = await ctx.storage.waves.get(wave_number)
    if existing is not None and existing.published:
        await ctx.end_step()
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan; jadwalnya tidak bisa diubah lagi.").format(n=wave_number))
        return
    await ctx.storage.waves.set_announce_at(wave_number, when)
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "wave_time", f"wave:{wave_number}",
                                   audit_time(when))
    await ctx.end_step()
    ctx.say(t.gettext("Pengumuman gelombang {n} dijadwalkan {time}.").format(n=wave_number, time=t.time(when)))
    await waves(ctx)


# --- /umumkan N ------------------------------------------------------------------------------------------------
@routes.command("umumkan", "publish", roles=ADMINS)
async def publish_command(ctx: Context) -> None:
    await _publish_preview(ctx, ctx.args)


@routes.action(PUBLISH_ASK, roles=ADMINS)
async def publish_button(ctx: Context) -> None:
    await _publish_preview(ctx, ctx.event.arg)


async def _wave_or_say(ctx: Context, text: str) -> Wave | None:
    t = ctx.t
    if not text.strip():
        ctx.say(t.gettext("Tulis nomor gelombangnya, contoh: <code>/umumkan 3</code>."),
                rows(Button(t.gettext("Lihat gelombang"), GO, "gelombang")))
        return None
    wave_number = parse_int(text)
    wave = await ctx.storage.waves.get(wave_number) if wave_number is not None else None
    if wave is None:
        ctx.say(t.gettext("Gelombang <b>{n}</b> tidak ada. Lihat daftar gelombang dengan /gelombang.").format(
            n=escape(text.strip()[:12])), rows(Button(t.gettext("Lihat gelombang"), GO, "gelombang")))
    return wave


async def _publish_preview(ctx: Context, text: str) -> None:
    t = ctx.t
    wave = await _wave_or_say(ctx, text)
    if wave is None:
        return
    count = await ctx.storage.outbox.count_results_audience(wave.number)
    summary = next((s for s in await ctx.storage.staff.wave_summaries() if s.wave.number == wave.number), None)
    decided = summary.lolos + summary.tidak_lolos if summary else 0
    if not decided:
        ctx.say(t.gettext("Gelombang {n} belum punya hasil (lolos / tidak lolos). Impor hasilnya dulu dengan"
                          " /impor.").format(n=wave.number))
        return
    if wave.published_at is not None and count.total == 0:
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan {time} dan setiap penerima sudah mendapat pesannya."
                          " Tidak ada yang dikirim lagi.").format(n=wave.number, time=t.time(wave.published_at)),
                rows(Button(t.gettext("Status pengiriman"), GO, "siaran_status")))
        return
    lines = [
        t.gettext("<b>Umumkan hasil gelombang {n}?</b>").format(n=wave.number),
        t.gettext("Akan mengirim {total} pesan: {lolos} lolos, {tidak} tidak lolos.").format(
            total=number(t, count.total), lolos=number(t, count.lolos), tidak=number(t, count.tidak_lolos)),
        t.gettext("Setiap chat yang terhubung (dan tidak berhenti berlangganan) menerima hasilnya sendiri."),
    ]
    undecided = (summary.accounts - decided) if summary else 0
    if undecided:
        lines.append(t.gettext("{n} akun belum punya hasil dan tidak dikirimi pesan.").format(n=number(t, undecided)))
    if wave.published:
        lines.append(t.gettext("Gelombang ini sudah diumumkan; hanya yang belum menerima pesan yang dikirimi."))
    else:
        lines.append(t.gettext("Setelah dikonfirmasi, hasil langsung terlihat di /hasil."))
    ctx.say("\n".join(lines), rows(
        Button(t.gettext("Ya, umumkan"), PUBLISH_OK, str(wave.number)),
        Button(t.gettext("Batal"), GO, "gelombang"),
        per_row=2,
    ))


@routes.action(PUBLISH_OK, roles=ADMINS)
async def publish_confirmed(ctx: Context) -> None:
    t = ctx.t
    wave = await _wave_or_say(ctx, ctx.event.arg)
    if wave is None:
        return
    count = await ctx.storage.outbox.count_results_audience(wave.number)
    broadcast, newly = await ctx.storage.outbox.publish_results(wave.number, ctx.actor, ctx.role.value)
    text = (t.gettext("<b>Gelombang {n} diumumkan.</b>") if newly else
            t.gettext("<b>Gelombang {n} sudah diumumkan sebelumnya.</b>")).format(n=wave.number)
    text += "\n" + t.gettext("{total} pesan masuk antrean pengiriman (#{id}). Pantau dengan /siaran_status.").format(
        total=number(t, count.total), id=broadcast.id)
    ctx.say(text, rows(Button(t.gettext("Status pengiriman"), GO, "siaran_status")), replace=True)
