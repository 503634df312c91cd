"""Wave results (/hasil) and the card with its balance (/kartu), for the linked account only."""

from __future__ import annotations

from enum import StrEnum

from handlers.api import Button, rows
from handlers.context import Context, FlowState, Step
from handlers.guide import guide_steps_text
from handlers.identity import format_card
from handlers.menu import FAQ_ACTION, command_button, is_lolos, show_menu
from handlers.router import GO, Routes
from storage.models import WaveResult, WaveStanding

routes = Routes()


# "Hubungkan akun" that remembers what was asked: once linked, the chat gets it without asking again (issue 13).
LINK_FOR = "link_for"


async def offer_linking(ctx: Context, pending: str) -> None:
    """Personal data asked for in an unlinked chat: offer linking, and answer `pending` ("kartu", "hasil") after,
    whether the button is pressed or "hubungkan" / "ok" is typed (the offer is remembered in a soft step)."""
    t = ctx.t
    await ctx.set_step(Step.LINK_OFFERED, FlowState(pending=pending))
    ctx.say(
        t.gettext("Chat ini belum terhubung dengan akun Prakerja. Hubungkan dulu untuk melihat data Anda."),
        rows(Button(t.gettext("Hubungkan akun"), LINK_FOR, pending), Button(t.gettext("Menu"), GO, "menu")),
    )


class Standing(StrEnum):
    """Where the person is in the programme, for answers that fit them."""

    UNLINKED = "unlinked"
    LOLOS = "lolos"
    TIDAK_LOLOS = "tidak_lolos"  # the latest announced result
    WAITING = "waiting"  # linked, nothing announced yet


async def standing(ctx: Context) -> Standing:
    if ctx.account is None:
        return Standing.UNLINKED
    if is_lolos(ctx):
        return Standing.LOLOS
    announced = [s for s in await ctx.storage.accounts.standings(ctx.account.id)
                 if s.wave.published and s.result is not None]
    if not announced:
        return Standing.WAITING
    latest = max(announced, key=lambda s: s.wave.number)
    return Standing.LOLOS if latest.result is WaveResult.LOLOS else Standing.TIDAK_LOLOS


def standing_text(ctx: Context, standing: WaveStanding, card_number: str | None) -> str:
    """The text of one wave's result: the same words in /hasil and in the personal announcement."""
    t = ctx.t
    wave = standing.wave
    if not wave.published or standing.result is None:
        if wave.announce_at is not None:
            return t.gettext("<b>Gelombang {wave}</b>: belum diumumkan. Pengumuman dijadwalkan {time}.").format(
                wave=wave.number, time=t.time(wave.announce_at)
            )
        return t.gettext("<b>Gelombang {wave}</b>: belum diumumkan.").format(wave=wave.number)
    if standing.result is WaveResult.LOLOS:
        text = t.gettext("<b>Gelombang {wave}: Lolos</b> 🎉 Selamat, Anda lolos seleksi Kartu Prakerja.").format(
            wave=wave.number
        )
        if card_number:
            text += "\n" + t.gettext("Nomor Kartu Prakerja: <tg-spoiler>{card}</tg-spoiler>").format(
                card=format_card(card_number)
            )
        return text + "\n\n" + t.gettext("<b>Langkah berikutnya</b>") + "\n" + guide_steps_text(ctx)
    return "\n".join(
        [
            t.gettext("<b>Gelombang {wave}: Tidak Lolos</b>").format(wave=wave.number),
            t.gettext(
                "Di dashboard akun Anda tertulis \"Tidak Lolos\". Anda bisa mendaftar lagi di gelombang berikutnya"
                " tanpa perlu memasukkan semua data lagi."
            ),
            t.gettext(
                "Ingat: peserta gelombang sebelumnya, pejabat negara, anggota DPR/DPRD, ASN, TNI, Polri, kepala dan"
                " perangkat desa, direksi/komisaris/dewan pengawas BUMN/BUMD, dan penerima bantuan pemerintah lain"
                " (bansos DTKS, BSU, BPUM, Kartu Prakerja 2020) tidak bisa menjadi peserta. Cek dengan /syarat."
            ),
        ]
    )


@routes.command("hasil", "result")
async def results(ctx: Context) -> None:
    t = ctx.t
    account = ctx.account
    if account is None:
        await offer_linking(ctx, "hasil")
        return
    standings = await ctx.storage.accounts.standings(account.id)
    if not standings:
        show_menu(ctx, t.gettext("Belum ada data pendaftaran gelombang untuk akun Anda."))
        return
    text = "\n\n".join(standing_text(ctx, s, account.card_number) for s in standings)
    # Fit the person: a Lolos applicant goes on to the guide; one who did not pass is offered re-registration and
    # the eligibility check.
    if account.card_number:
        buttons = [command_button(ctx, "kartu"), command_button(ctx, "panduan")]
    else:
        announced = [s for s in standings if s.wave.published and s.result is not None]
        failed = bool(announced) and max(announced, key=lambda s: s.wave.number).result is WaveResult.TIDAK_LOLOS
        buttons = [*((reregister_button(ctx),) if failed else ()), command_button(ctx, "syarat")]
    ctx.say(text, rows(*buttons, command_button(ctx, "menu")))


REREGISTER = "reregister"  # the FAQ entry on registering again (handlers/understanding/data/faq.toml)


def reregister_button(ctx: Context) -> Button:
    return Button(ctx.t.gettext("Daftar lagi"), FAQ_ACTION, REREGISTER)


@routes.command("kartu", "card")
async def card(ctx: Context) -> None:
    t = ctx.t
    account = ctx.account
    if account is None:
        await offer_linking(ctx, "kartu")
        return
    if not account.card_number:  # none, or not shown yet: the card comes with an announced Lolos result
        waiting = [s for s in await ctx.storage.accounts.standings(account.id) if not s.wave.published]
        if waiting:
            show_menu(ctx, "\n".join([*(standing_text(ctx, s, None) for s in waiting), t.gettext(
                "Nomor Kartu Prakerja dan saldo muncul di sini setelah hasil seleksi diumumkan.")]))
            return
        show_menu(
            ctx,
            t.gettext("Akun Anda belum memiliki Kartu Prakerja. Nomor kartu muncul setelah Anda lolos seleksi."),
        )
        return
    card_line = t.gettext("Nomor Kartu Prakerja: <tg-spoiler>{card}</tg-spoiler>")
    lines = [card_line.format(card=format_card(account.card_number))]
    if account.balance is not None:
        lines.append(t.gettext("Saldo pelatihan: <b>{amount}</b>").format(amount=t.money(account.balance)))
        if account.balance_at is not None:
            lines.append(t.gettext("Saldo per {time}.").format(time=t.time(account.balance_at)))
    lines.append(t.gettext("Bayar pelatihan dengan nomor kartu ini. Jangan berikan kode OTP kepada siapa pun."))
    ctx.say(
        "\n".join(lines),
        rows(Button(t.gettext("Cari pelatihan"), GO, "pelatihan"), Button(t.gettext("Menu"), GO, "menu")),
    )
