"""The five steps of "Panduan Mengikuti Pelatihan Kartu Prakerja" as a checklist, and the intro video."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.api import AnyButton, Button, LinkButton, rows
from handlers.context import Context
from handlers.menu import command_button, is_lolos
from handlers.router import GO, Routes
from storage import Progress

routes = Routes()

VIDEO_WATCHED = "video_watched"
TRAINING_BOUGHT = "training_bought"
DONE, TODO = "✅", "⬜"


# The guide step each recorded progress ticks (step 1, the balance on the dashboard, comes with the account).
STEP_OF = {Progress.PLATFORMS_COMPARED: 2, Progress.VIDEO_WATCHED: 3, Progress.TRAINING_CHOSEN: 4,
           Progress.TRAINING_BOUGHT: 5}
# Where each step is done, for "do step N first".
STEP_COMMANDS = {1: "kartu", 2: "platform", 3: "video", 4: "pelatihan"}


def guide_progress(ctx: Context) -> list[bool]:
    chat = ctx.chat
    account = ctx.account
    return [
        is_lolos(ctx) and account is not None and account.balance is not None,
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


def missing_step(ctx: Context, progress: Progress) -> int | None:
    """The first earlier step not done yet, if `progress` cannot be ticked for that reason (steps go in order)."""
    done = guide_progress(ctx)
    return next((n for n in range(1, STEP_OF[progress]) if not done[n - 1]), None)


def can_tick(ctx: Context, progress: Progress) -> bool:
    """One rule for ticking the guide (issue 13): only a Lolos applicant's guide, and only in order."""
    return is_lolos(ctx) and missing_step(ctx, progress) is None


async def tick(ctx: Context, progress: Progress) -> bool:
    """Record a guide step the first time it is done, if it may be ticked; keep this update's snapshot in step.
    True when the step is (now or already) ticked."""
    chat = ctx.chat
    if getattr(chat, progress.value) is not None:
        return True
    if not can_tick(ctx, progress):
        return False
    await ctx.storage.chats.mark_progress(chat.id, progress)
    ticked: dict[str, Any] = {progress.value: ctx.now()}  # a Progress value names a `*_at` field of Chat
    ctx.snapshot = replace(ctx.snapshot, chat=replace(chat, **ticked))
    return True


def why_not_ticked(ctx: Context, progress: Progress) -> tuple[str, tuple[tuple[AnyButton, ...], ...]]:
    """What to say when a step cannot be ticked: who may tick it, or which step comes first."""
    t = ctx.t
    if not is_lolos(ctx):
        return (t.gettext("Langkah panduan dicatat untuk peserta yang sudah lolos seleksi dan menghubungkan akunnya"
                          " di sini."), rows(command_button(ctx, "hasil" if ctx.account else "hubungkan"),
                                             command_button(ctx, "menu"), per_row=2))
    step = missing_step(ctx, progress) or 1
    return (t.gettext("Langkah panduan diisi berurutan: selesaikan dulu langkah {n}.").format(n=step),
            rows(command_button(ctx, STEP_COMMANDS[step]), command_button(ctx, "panduan"), per_row=2))


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
    if ctx.chat.training_bought_at is None and can_tick(ctx, Progress.TRAINING_BOUGHT):
        buttons.append(Button(t.gettext("Sudah beli pelatihan"), TRAINING_BOUGHT))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(header + "\n" + guide_steps_text(ctx), rows(*buttons, per_row=2))


@routes.action(TRAINING_BOUGHT)
async def training_bought(ctx: Context) -> None:
    if not await tick(ctx, Progress.TRAINING_BOUGHT):  # a button from an older message, or forged
        ctx.say(*why_not_ticked(ctx, Progress.TRAINING_BOUGHT))
        return
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
    if ctx.chat.video_watched_at is not None:
        text += "\n" + t.gettext("Anda sudah menandai video ini sebagai ditonton.")
    elif can_tick(ctx, Progress.VIDEO_WATCHED):
        buttons.append(Button(t.gettext("Sudah saya tonton"), VIDEO_WATCHED))
    elif is_lolos(ctx):  # "sudah nonton video" before comparing platforms: say why it cannot be ticked yet
        step = missing_step(ctx, Progress.VIDEO_WATCHED) or 1
        text += "\n\n" + t.gettext("Langkah panduan diisi berurutan: selesaikan dulu langkah {n}.").format(n=step)
        buttons.append(command_button(ctx, STEP_COMMANDS[step]))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(text, rows(*buttons))


@routes.action(VIDEO_WATCHED)
async def video_watched(ctx: Context) -> None:
    t = ctx.t
    if not await tick(ctx, Progress.VIDEO_WATCHED):
        ctx.say(*why_not_ticked(ctx, Progress.VIDEO_WATCHED))
        return
    ctx.say(
        t.gettext("Terima kasih! Video sudah ditandai ditonton. Langkah berikutnya: pilih pelatihan."),
        rows(
            Button(t.gettext("Panduan pelatihan"), GO, "panduan"),
            Button(t.gettext("Cari pelatihan"), GO, "pelatihan"),
        ),
    )
