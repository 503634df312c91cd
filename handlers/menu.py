"""The main menu, help, and every "I did not understand" answer: never silence, always a way forward."""

from __future__ import annotations

from functools import cache

from handlers.api import AnyButton, Button, Event, Reply, rows
from handlers.context import Context
from handlers.i18n import N_, SUPPORTED_LOCALES, normalize_locale, translator
from handlers.roles import Role
from handlers.router import GO, Routes, escape
from handlers.understanding.lexicon import words

routes = Routes()


# The label of each command's button, everywhere it is offered (the menu, answers, "did you mean"); a label typed
# as text, in any language and from any earlier message, runs its command too (`label_command`).
COMMAND_LABELS: dict[str, str] = {
    "hasil": N_("Hasil seleksi"),
    "hubungkan": N_("Hubungkan akun"),
    "kartu": N_("Kartu & saldo"),
    "video": N_("Video perkenalan"),
    "panduan": N_("Panduan pelatihan"),
    "platform": N_("Bandingkan platform"),
    "pelatihan": N_("Cari pelatihan"),
    "syarat": N_("Cek syarat peserta"),
    "ceklink": N_("Cek link / penipuan"),
    "pengaturan": N_("Pengaturan"),
    "petugas": N_("Hubungi petugas"),
    "bahasa": N_("Bahasa / Language"),
    "berhenti": N_("Berhenti terima pengumuman"),
    "mulai": N_("Mulai terima pengumuman"),
    "putuskan": N_("Putuskan akun"),
    "bantuan": N_("Bantuan"),
    "menu": N_("Menu"),
}


FAQ_ACTION = "faq"  # a button that shows an FAQ answer (arg: its id; handlers/faq.py)


def command_button(ctx: Context, command: str) -> Button:
    return Button(ctx.t.gettext(COMMAND_LABELS[command]), GO, command)


def is_lolos(ctx: Context) -> bool:
    """A linked applicant who passed: only they have a card number (the registry import's rule)."""
    return ctx.account is not None and ctx.account.card_number is not None


def menu_buttons(ctx: Context) -> tuple[tuple[AnyButton, ...], ...]:
    """The main menu, at most 10 entries so that it fits a WhatsApp list. It fits the person: a linked Lolos
    applicant is not offered the eligibility check (issue 13)."""
    commands = ["hasil" if ctx.account else "hubungkan", "kartu", "video", "panduan", "platform", "pelatihan",
                *(() if is_lolos(ctx) else ("syarat",)), "ceklink", "pengaturan"]
    return rows(
        *(command_button(ctx, command) for command in commands),
        *((contact,) if (contact := contact_button(ctx)) else ()),  # the 10th entry: a person (issue 8)
        per_row=2,
    )


def contact_button(ctx: Context) -> Button | None:
    """"Hubungi petugas": the hand-off to a person (handlers/handoff/), when a support group is configured."""
    return command_button(ctx, "petugas") if ctx.config.handoff.enabled else None


@cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for locale in SUPPORTED_LOCALES:
        t = translator(locale)
        for command, label in COMMAND_LABELS.items():
            labels.setdefault(plain(t.gettext(label)), command)
    return labels


def plain(text: str) -> str:
    """A label or a typed text compared as words only: 'Kartu & saldo' == 'kartu saldo' == 'KARTU & SALDO!'."""
    return " ".join(words(text))


def label_command(text: str) -> str | None:
    """The command whose button label this text is (in any language), if it is one."""
    return _labels().get(plain(text))


def show_menu(ctx: Context, intro: str | None = None) -> None:
    t = ctx.t
    text = intro or t.gettext("Pilih yang Anda perlukan:")
    ctx.say(text, menu_buttons(ctx))


@routes.command("start", "menu")
async def start(ctx: Context) -> None:
    greet(ctx)


def greet(ctx: Context, opening: str = "") -> None:
    """The welcome with the menu; `opening` answers a greeting first ("Wa'alaikumsalam!")."""
    t = ctx.t
    if ctx.account:
        greeting = t.gettext(
            "Halo, {name}! Saya <b>Asisten Prakerja</b>. Akun Prakerja Anda sudah terhubung."
        ).format(name=_first_name(ctx.account.name))
    else:
        greeting = t.gettext(
            "Halo! Saya <b>Asisten Prakerja</b>: cek hasil seleksi, kartu dan saldo, panduan pelatihan, dan"
            " perbandingan platform Kartu Prakerja. Mulailah dengan <b>Hubungkan akun</b>."
        )
    show_menu(ctx, (opening + " " if opening else "") + greeting + "\n\n" + t.gettext("Pilih yang Anda perlukan:"))


@routes.command("bantuan", "help")
async def help_(ctx: Context) -> None:
    t = ctx.t
    staff: list[str] = []
    if ctx.role is not Role.APPLICANT:  # staff first see their own commands and their guide, then the applicant's
        # imported here: handlers.support imports the admin package, which imports this module
        from handlers.support import staff_help_text

        staff = [staff_help_text(ctx), ""]
    lines = [
        *staff,
        t.gettext("<b>Perintah pemohon</b>") if staff else t.gettext("<b>Yang bisa saya bantu</b>"),
        t.gettext("/hubungkan: hubungkan chat ini dengan akun Prakerja Anda"),
        t.gettext("/hasil: hasil seleksi per gelombang"),
        t.gettext("/kartu: nomor kartu dan saldo"),
        t.gettext("/video: video perkenalan Kartu Prakerja"),
        t.gettext("/panduan: 5 langkah mengikuti pelatihan"),
        t.gettext("/platform: bandingkan 7 platform pelatihan"),
        t.gettext("/pelatihan KATA: cari pelatihan sesuai saldo"),
        t.gettext("/syarat: cek apakah Anda bisa menjadi peserta"),
        t.gettext("/ceklink: cek apakah sebuah link resmi"),
        t.gettext("/bahasa: ganti bahasa"),
        t.gettext("/berhenti, /mulai: hentikan atau mulai lagi pengumuman"),
        t.gettext("/putuskan: putuskan chat ini dari akun Anda"),
        *([t.gettext("/petugas: tanya langsung kepada petugas")] if ctx.config.handoff.enabled else []),
        "",
        t.gettext("Tidak perlu mengetik perintah: cukup tekan tombol."),
    ]
    show_menu(ctx, "\n".join(lines))


async def unknown(ctx: Context) -> None:
    """Unknown text, command or sticker: the menu back, with a short hint."""
    t = ctx.t
    show_menu(ctx, t.gettext("Maaf, saya belum mengerti pesan itu. Silakan pilih dari menu di bawah ini."))


async def unknown_action(ctx: Context) -> None:
    t = ctx.t
    show_menu(ctx, t.gettext("Tombol itu sudah tidak berlaku. Silakan pilih lagi dari menu."))


async def edited(ctx: Context) -> None:
    t = ctx.t
    show_menu(ctx, t.gettext("Pesan yang diubah tidak saya proses. Silakan kirim ulang sebagai pesan baru."))


async def unsupported(ctx: Context) -> None:
    t = ctx.t
    if ctx.event.sticker:  # a sticker is a reaction: something friendly back (issue 13)
        ctx.say(t.gettext("😊 Stikernya sudah saya terima. Kalau ada yang ingin ditanyakan, tulis saja atau pilih dari"
                          " menu."), rows(command_button(ctx, "menu")))
        return
    show_menu(ctx, t.gettext("Saya hanya bisa membaca pesan teks dan tombol. Silakan pilih dari menu."))


async def document(ctx: Context) -> None:
    t = ctx.t
    show_menu(ctx, t.gettext("Saya tidak memproses berkas dari pemohon. Jangan kirim dokumen pribadi lewat chat."))


def group(event: Event) -> Reply:
    """In a group the bot discusses nothing personal: it points to the private chat."""
    t = translator(normalize_locale(event.language_hint))
    return Reply(
        t.gettext(
            "Untuk menjaga data pribadi Anda, saya hanya melayani lewat chat pribadi. Kirim /start kepada saya"
            " secara langsung."
        )
    )


def _first_name(name: str) -> str:
    return escape(name.split()[0]) if name.strip() else ""
