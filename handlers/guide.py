"""The five steps of "Panduan Mengikuti Pelatihan Kartu Prakerja" as a checklist, and the intro video."""

from __future__ import annotations

from dataclasses import replace

from handlers.api import Button, LinkButton, rows
from handlers.context import Context
from handlers.router import GO, Routes
from storage import Progress

routes = Routes()

VIDEO_WATCHED = "video_watched"
TRAINING_BOUGHT = "training_bought"
DONE, TODO = "✅", "⬜"


def guide_progress(ctx: Context) -> list[bool]:
    chat = ctx.chat
    account = ctx.account
    return [
        bool(account and account.balance),
        chat.platforms_compared_at is not None,
        chat.video_watched_at is not None,
        chat.training_chosen_at is not None,
        chat.training_bought_at is not None,
    ]


def guide_steps_text(ctx: Context) -> str:
    t = ctx.t
    steps = [
        t.gettext("Cek dashboard akun Prakerja untuk memastikan dana pelatihan sudah tersedia."),
        t.gettext("Bandingkan pelatihan di Bukalapak, Mau Belajar Apa, Pintaria, Pijar Mahir, Sisnaker, Sekolahmu,"
                  " atau Tokopedia."),
        t.gettext("Tonton video tentang Kartu Prakerja sebelum membeli pelatihan pertama."),
        t.gettext("Pilih pelatihan sesuai kebutuhanmu."),
        t.gettext("Beli pelatihan dan bayar dengan Nomor Kartu Prakerja."),
    ]
    marks = guide_progress(ctx)
    return "\n".join(
        f"{DONE if done else TODO} {n}. {step}" for n, (step, done) in enumerate(zip(steps, marks, strict=True), 1)
    )


@routes.command("panduan", "guide")
async def guide(ctx: Context) -> None:
    t = ctx.t
    done = sum(guide_progress(ctx))
    header = t.gettext("<b>Panduan Mengikuti Pelatihan Kartu Prakerja</b> ({done} dari 5 langkah selesai)").format(
        done=done
    )
    buttons = [
        Button(t.gettext("Cek saldo"), GO, "kartu"),
        Button(t.gettext("Bandingkan platform"), GO, "platform"),
        Button(t.gettext("Tonton video"), GO, "video"),
        Button(t.gettext("Cari pelatihan"), GO, "pelatihan"),
    ]
    if ctx.chat.training_bought_at is None:
        buttons.append(Button(t.gettext("Sudah beli pelatihan"), TRAINING_BOUGHT))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(header + "\n" + guide_steps_text(ctx), rows(*buttons, per_row=2))


@routes.action(TRAINING_BOUGHT)
async def training_bought(ctx: Context) -> None:
    await ctx.storage.chats.mark_progress(ctx.chat.id, Progress.TRAINING_BOUGHT)
    _touch(ctx, training_bought_at=ctx.now())
    ctx.say(ctx.t.gettext("Tercatat: Anda sudah membeli pelatihan. Selamat belajar!"))
    await guide(ctx)


@routes.command("video")
async def video(ctx: Context) -> None:
    t = ctx.t
    url = ctx.config.intro_video_url
    text = t.gettext(
        "Tonton video tentang Kartu Prakerja sebelum membeli pelatihan pertama:\n{url}"
    ).format(url=url)
    buttons: list[Button | LinkButton] = [LinkButton(t.gettext("Buka video"), url)]
    if ctx.chat.video_watched_at is None:
        buttons.append(Button(t.gettext("Sudah saya tonton"), VIDEO_WATCHED))
    else:
        text += "\n" + t.gettext("Anda sudah menandai video ini sebagai ditonton.")
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(text, rows(*buttons))


@routes.action(VIDEO_WATCHED)
async def video_watched(ctx: Context) -> None:
    t = ctx.t
    await ctx.storage.chats.mark_progress(ctx.chat.id, Progress.VIDEO_WATCHED)
    _touch(ctx, video_watched_at=ctx.now())
    ctx.say(
        t.gettext("Terima kasih! Video sudah ditandai ditonton. Langkah berikutnya: pilih pelatihan."),
        rows(
            Button(t.gettext("Panduan pelatihan"), GO, "panduan"),
            Button(t.gettext("Cari pelatihan"), GO, "pelatihan"),
        ),
    )


def _touch(ctx: Context, **progress: object) -> None:
    """Keep the snapshot in step with what was just stored, for the rest of this update."""
    chat = ctx.chat
    updates = {k: v for k, v in progress.items() if getattr(chat, k) is None}
    ctx.snapshot = replace(ctx.snapshot, chat=replace(chat, **updates))
