"""Broadcasts: /siaran composes a draft (text, photo, video link, audience), previews it, and sends or schedules it."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from handlers.admin.outbox import broadcast_reply, footer
from handlers.admin.shared import (
    MAX_CAPTION_LENGTH,
    MAX_PHOTO_BYTES,
    MAX_TEXT_LENGTH,
    audit_time,
    number,
    parse_wib,
    routes,
    shorten,
    time_example,
)
from handlers.api import Button, rows
from handlers.context import Context, FlowState, Step
from handlers.digits import parse_int
from handlers.i18n import N_, Translator, translator
from handlers.menu import show_menu
from handlers.roles import CHANNEL_LABELS, Channel, Role
from handlers.router import ADMINS, GO, escape
from storage.models import (
    Audience,
    Broadcast,
    BroadcastKind,
    BroadcastState,
    GuideGap,
    WaveResult,
)

DraftHandler = Callable[[Context, Broadcast], Awaitable[None]]

DRAFT_SHOW = "adm_b_show"
DRAFT_AUDIENCE = "adm_b_aud"
DRAFT_TEXT = "adm_b_text"
DRAFT_PHOTO = "adm_b_photo"
DRAFT_VIDEO = "adm_b_video"
DRAFT_PREVIEW = "adm_b_prev"
DRAFT_SEND = "adm_b_send"
DRAFT_GO = "adm_b_go"
DRAFT_SCHEDULE = "adm_b_sched"
DRAFT_AT = "adm_b_at"
DRAFT_DROP = "adm_b_drop"

CHANNEL_NAMES = CHANNEL_LABELS  # by stored name (handlers/roles.py)
AUDIENCE_CHANNELS = (None, Channel.TELEGRAM.value, Channel.WHATSAPP.value)
GAP_LABELS = {GuideGap.VIDEO: N_("belum menonton video"), GuideGap.PLATFORMS: N_("belum membandingkan platform"),
              GuideGap.TRAINING: N_("belum membeli pelatihan")}


# --- /siaran ---------------------------------------------------------------------------------------------------
@routes.command("siaran", "broadcast", roles=ADMINS)
async def broadcast_command(ctx: Context) -> None:
    t = ctx.t
    text = ctx.args
    if not text:
        await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState())
        ctx.say(t.gettext("Ketik teks siaran. Setelah itu Anda bisa menambah foto atau link video, memilih"
                          " penerima, melihat pratinjau, lalu mengirim atau menjadwalkannya."),
                rows(Button(t.gettext("Batal"), GO, "menu")))
        return
    if not _text_fits(ctx, text, photo=False):
        await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState())
        return
    draft = await ctx.storage.outbox.create(BroadcastKind.BROADCAST, ctx.actor, body=escape(text))
    await show_draft(ctx, draft)


def _text_fits(ctx: Context, text: str, *, photo: bool) -> bool:
    """Say what is wrong with a broadcast text, if anything."""
    t = ctx.t
    limit = (MAX_CAPTION_LENGTH if photo else MAX_TEXT_LENGTH) - len(footer(t))
    if not text.strip():
        ctx.say(t.gettext("Teks siaran tidak boleh kosong. Ketik teksnya."), rows(Button(t.gettext("Batal"), GO,
                                                                                         "menu")))
        return False
    if len(text) > limit:
        what = (t.gettext("Dengan foto, teks siaran paling banyak {limit} karakter (sekarang {n}).") if photo else
                t.gettext("Teks siaran paling banyak {limit} karakter (sekarang {n})."))
        ctx.say(what.format(limit=limit, n=len(text)) + " " + t.gettext("Ketik teks yang lebih pendek."),
                rows(Button(t.gettext("Batal"), GO, "menu")))
        return False
    return True


@routes.step(Step.BROADCAST_AWAIT_TEXT)
async def broadcast_text_typed(ctx: Context) -> None:
    if ctx.role is not Role.ADMIN:
        await ctx.end_step()
        show_menu(ctx)
        return
    text = ctx.event.text
    draft_id = ctx.state.broadcast
    draft = await ctx.storage.outbox.get(draft_id) if draft_id is not None else None
    if not _text_fits(ctx, text, photo=bool(draft and draft.photo)):
        return
    await ctx.end_step()
    if draft is None:
        draft = await ctx.storage.outbox.create(BroadcastKind.BROADCAST, ctx.actor, body=escape(text))
    else:
        draft = await ctx.storage.outbox.edit_draft(draft.id, body=escape(text))
        if draft is None:
            _not_a_draft(ctx)
            return
    await show_draft(ctx, draft)


async def _draft(ctx: Context) -> Broadcast | None:
    """The draft a button names (its first argument); says so if it is gone or no longer a draft."""
    broadcast_id = parse_int(ctx.event.arg.split(":", 1)[0])
    draft = await ctx.storage.outbox.get(broadcast_id) if broadcast_id is not None else None
    if draft is None or draft.kind is not BroadcastKind.BROADCAST or draft.state is not BroadcastState.DRAFT:
        _not_a_draft(ctx)
        return None
    return draft


def draft_action(name: str) -> Callable[[DraftHandler], DraftHandler]:
    """A button on a draft: the router checks the admin role; this finds the draft its argument names (a stale or
    forged one gets "no longer a draft") and passes it on."""
    def register(fn: DraftHandler) -> DraftHandler:
        async def handler(ctx: Context) -> None:
            draft = await _draft(ctx)
            if draft is not None:
                await fn(ctx, draft)

        routes.action(name, roles=ADMINS)(handler)
        return fn

    return register


def _not_a_draft(ctx: Context) -> None:
    t = ctx.t
    ctx.say(t.gettext("Draf siaran itu sudah dikirim, dijadwalkan atau dibatalkan. Lihat /siaran_status."),
            rows(Button(t.gettext("Status siaran"), GO, "siaran_status")))


def describe_audience(t: Translator, audience: Audience) -> str:
    if audience.unlinked and not audience.needs_account:
        parts = [t.gettext("semua chat, termasuk yang belum terhubung")]
    else:
        parts = [t.gettext("chat yang terhubung")]
    if audience.wave is not None:
        parts.append(t.gettext("gelombang {n}").format(n=audience.wave))
    if audience.result is WaveResult.LOLOS:
        parts.append(t.gettext("lolos"))
    elif audience.result is WaveResult.TIDAK_LOLOS:
        parts.append(t.gettext("tidak lolos"))
    if audience.channel:
        parts.append(t.gettext("kanal {name}").format(name=CHANNEL_NAMES.get(audience.channel, audience.channel)))
    if audience.gap:
        parts.append(t.gettext(GAP_LABELS[audience.gap]))
    return ", ".join(parts)


async def show_draft(ctx: Context, draft: Broadcast, *, replace_message: bool = False) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    a = draft.audience
    lines = [
        t.gettext("<b>Draf siaran #{id}</b>").format(id=draft.id),
        t.gettext("Teks: <i>{text}</i>").format(text=shorten(draft.body or "")),
        t.gettext("Foto: {yes}").format(yes=t.gettext("ada") if draft.photo else t.gettext("tidak ada")),
        t.gettext("Link video: {yes}").format(yes=t.gettext("ada") if draft.video_url else t.gettext("tidak ada")),
        t.gettext("Penerima: {who}").format(who=describe_audience(t, a)),
        t.gettext("Jumlah penerima sekarang: <b>{n}</b> (tanpa yang berhenti berlangganan atau memblokir bot)").format(
            n=number(t, count.total)),
    ]
    bid = str(draft.id)
    everyone = t.gettext("semua")
    result_label = {None: everyone, WaveResult.LOLOS: t.gettext("lolos"),
                    WaveResult.TIDAK_LOLOS: t.gettext("tidak lolos")}[a.result]
    buttons = [
        Button(t.gettext("Penerima: termasuk belum terhubung") if a.unlinked else
               t.gettext("Penerima: hanya yang terhubung"), DRAFT_AUDIENCE, f"{bid}:base"),
        Button(t.gettext("Gelombang: {v}").format(v=a.wave if a.wave is not None else everyone), DRAFT_AUDIENCE,
               f"{bid}:wave"),
        Button(t.gettext("Hasil: {v}").format(v=result_label), DRAFT_AUDIENCE, f"{bid}:result"),
        Button(t.gettext("Kanal: {v}").format(v=CHANNEL_NAMES.get(a.channel or "", everyone)), DRAFT_AUDIENCE,
               f"{bid}:channel"),
        Button(t.gettext("Progres: {v}").format(v=t.gettext(GAP_LABELS[a.gap]) if a.gap else everyone),
               DRAFT_AUDIENCE, f"{bid}:gap"),
        Button(t.gettext("Lolos, video belum ditonton"), DRAFT_AUDIENCE, f"{bid}:preset"),
        Button(t.gettext("Ganti teks"), DRAFT_TEXT, bid),
        Button(t.gettext("Hapus foto") if draft.photo else t.gettext("Tambah foto"), DRAFT_PHOTO, bid),
        Button(t.gettext("Hapus link video") if draft.video_url else t.gettext("Tambah link video"), DRAFT_VIDEO, bid),
        Button(t.gettext("Pratinjau"), DRAFT_PREVIEW, bid),
        Button(t.gettext("Kirim sekarang"), DRAFT_SEND, bid),
        Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, bid),
        Button(t.gettext("Buang draf"), DRAFT_DROP, bid),
    ]
    ctx.say("\n".join(lines), rows(*buttons, per_row=2), replace=replace_message)


@draft_action(DRAFT_SHOW)
async def draft_show(ctx: Context, draft: Broadcast) -> None:
    await show_draft(ctx, draft, replace_message=True)


T = TypeVar("T")


def _cycle(values: list[T], current: T) -> T:
    index = values.index(current) if current in values else -1
    return values[(index + 1) % len(values)]


@draft_action(DRAFT_AUDIENCE)
async def draft_audience(ctx: Context, draft: Broadcast) -> None:
    _, _, which = ctx.event.arg.partition(":")
    a = draft.audience
    match which:
        case "base":
            a = replace(a, unlinked=not a.unlinked)
        case "wave":
            numbers = [None, *(w.number for w in await ctx.storage.waves.all())]
            a = replace(a, wave=_cycle(numbers, a.wave))
        case "result":
            a = replace(a, result=_cycle([None, WaveResult.LOLOS, WaveResult.TIDAK_LOLOS], a.result))
        case "channel":
            a = replace(a, channel=_cycle(list(AUDIENCE_CHANNELS), a.channel))
        case "gap":
            a = replace(a, gap=_cycle([None, *GuideGap], a.gap))
        case "preset":
            a = Audience(result=WaveResult.LOLOS, gap=GuideGap.VIDEO)
        case _:
            await show_draft(ctx, draft, replace_message=True)
            return
    await _show_edited(ctx, await ctx.storage.outbox.edit_draft(draft.id, audience=a))


async def _show_edited(ctx: Context, updated: Broadcast | None) -> None:
    """The draft panel again after a change, in place; None: it stopped being a draft meanwhile."""
    if updated is None:
        _not_a_draft(ctx)
        return
    await show_draft(ctx, updated, replace_message=True)


@draft_action(DRAFT_TEXT)
async def draft_text(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Ketik teks baru untuk siaran #{id}.").format(id=draft.id),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@draft_action(DRAFT_PHOTO)
async def draft_photo(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    if draft.photo:
        await _show_edited(ctx, await ctx.storage.outbox.edit_draft(draft.id, clear_photo=True))
        return
    if len(html.unescape(draft.body or "")) > MAX_CAPTION_LENGTH - len(footer(t)):
        ctx.say(t.gettext("Teks siaran ini terlalu panjang untuk keterangan foto (maksimal {limit} karakter)."
                          " Persingkat teksnya dulu.").format(limit=MAX_CAPTION_LENGTH - len(footer(t))),
                rows(Button(t.gettext("Ganti teks"), DRAFT_TEXT, str(draft.id))))
        return
    await ctx.set_step(Step.BROADCAST_AWAIT_PHOTO, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Kirim fotonya (sebagai foto, maksimal 10 MB)."),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@routes.step(Step.BROADCAST_AWAIT_PHOTO)
async def broadcast_photo_waiting(ctx: Context) -> None:
    t = ctx.t
    draft_id = ctx.state.broadcast
    ctx.say(t.gettext("Saya menunggu fotonya. Kirim sebagai foto, atau kembali ke draf."),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id or 0))))


async def photo_received(ctx: Context) -> None:
    t = ctx.t
    draft_id = ctx.state.broadcast or 0
    back = rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id)))
    photo = ctx.event.photo
    if photo is None:
        ctx.say(t.gettext("Itu berkas, bukan foto. Kirim gambarnya sebagai foto."), back)
        return
    if photo.size > MAX_PHOTO_BYTES:
        ctx.say(t.gettext("Foto terlalu besar ({size} MB). Batasnya 10 MB.").format(
            size=round(photo.size / 1_000_000, 1)), back)
        return
    updated = await ctx.storage.outbox.edit_draft(draft_id, photo=photo.file_id)
    await ctx.end_step()
    if updated is None:
        _not_a_draft(ctx)
        return
    await show_draft(ctx, updated)


@draft_action(DRAFT_VIDEO)
async def draft_video(ctx: Context, draft: Broadcast) -> None:
    if draft.video_url:
        updated = await ctx.storage.outbox.edit_draft(draft.id, clear_video=True)
    else:
        updated = await ctx.storage.outbox.edit_draft(draft.id, video_url=ctx.config.intro_video_url)
    await _show_edited(ctx, updated)


@draft_action(DRAFT_PREVIEW)
async def draft_preview(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    ctx.out.replies.append(broadcast_reply(t, draft))
    bid = str(draft.id)
    ctx.say(
        t.gettext("Di atas adalah pratinjau: begini pesan yang akan diterima <b>{n}</b> penerima ({who}).").format(
            n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Kirim sekarang"), DRAFT_SEND, bid), Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, bid),
             Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid), per_row=2),
    )


@draft_action(DRAFT_SEND)
async def draft_send(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    bid = str(draft.id)
    if count.total == 0:
        ctx.say(t.gettext("Tidak ada penerima untuk pilihan ini. Ubah pilihan penerimanya."),
                rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid)))
        return
    ctx.say(t.gettext("Kirim siaran #{id} sekarang ke <b>{n}</b> penerima ({who})?").format(
        id=draft.id, n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Ya, kirim"), DRAFT_GO, bid), Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid),
             per_row=2), replace=True)


@draft_action(DRAFT_GO)
async def draft_go(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    started = await ctx.storage.outbox.start(draft.id)
    if started is None:
        _not_a_draft(ctx)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "broadcast", f"broadcast:{draft.id}",
                                   describe_audience(translator("id"), draft.audience))
    ctx.say(t.gettext("Siaran #{id} mulai dikirim. Pantau dengan /siaran_status.").format(id=draft.id),
            rows(Button(t.gettext("Status siaran"), GO, "siaran_status")), replace=True)


@draft_action(DRAFT_SCHEDULE)
async def draft_schedule(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    await ctx.set_step(Step.BROADCAST_AWAIT_TIME, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Ketik waktu pengiriman siaran #{id} (WIB).").format(id=draft.id) + "\n"
            + time_example(t, ctx.now()), rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@routes.step(Step.BROADCAST_AWAIT_TIME)
async def broadcast_time_typed(ctx: Context) -> None:
    t = ctx.t
    if ctx.role is not Role.ADMIN:
        await ctx.end_step()
        show_menu(ctx)
        return
    draft_id = ctx.state.broadcast or 0
    back = rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id)))
    when = parse_wib(ctx.event.text, ctx.now())
    if when is None:
        ctx.say(t.gettext("Waktu itu tidak saya kenali.") + " " + time_example(t, ctx.now()), back)
        return
    if when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang.") + " " + time_example(t, ctx.now()),
                back)
        return
    await ctx.end_step()
    draft = await ctx.storage.outbox.get(draft_id)
    if draft is None or draft.state is not BroadcastState.DRAFT:
        _not_a_draft(ctx)
        return
    count = await ctx.storage.outbox.count_audience(draft.audience)
    minutes = int(when.timestamp() // 60)
    ctx.say(t.gettext("Jadwalkan siaran #{id} pada {time} untuk sekitar <b>{n}</b> penerima ({who})?").format(
        id=draft.id, time=t.time(when), n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Ya, jadwalkan"), DRAFT_AT, f"{draft.id}:{minutes}"),
             Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id)), per_row=2))


@draft_action(DRAFT_AT)
async def draft_at(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    minutes = parse_int(ctx.event.arg.partition(":")[2])
    when = datetime.fromtimestamp(minutes * 60, UTC) if minutes else None
    if when is None or when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Pilih waktu baru."),
                rows(Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, str(draft.id))))
        return
    started = await ctx.storage.outbox.start(draft.id, when)
    if started is None:
        _not_a_draft(ctx)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "broadcast_scheduled", f"broadcast:{draft.id}",
                                   audit_time(when))
    ctx.say(t.gettext("Siaran #{id} dijadwalkan {time}. Pantau atau batalkan dengan /siaran_status.").format(
        id=draft.id, time=t.time(when)), rows(Button(t.gettext("Status siaran"), GO, "siaran_status")), replace=True)


@draft_action(DRAFT_DROP)
async def draft_drop(ctx: Context, draft: Broadcast) -> None:
    await ctx.storage.outbox.set_state(draft.id, BroadcastState.CANCELLED, [BroadcastState.DRAFT])
    ctx.say(ctx.t.gettext("Draf siaran #{id} dibuang.").format(id=draft.id), replace=True)
