"""The main menu, help, and every "I did not understand" answer: never silence, always a way forward."""

from __future__ import annotations

from handlers.api import Button, Event, Reply, rows
from handlers.context import Context
from handlers.i18n import normalize_locale, translator
from handlers.router import GO, Routes, escape

routes = Routes()


def menu_buttons(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    """The main menu, at most 10 entries so that it fits a WhatsApp list."""
    t = ctx.t
    first = (
        Button(t.gettext("Hasil seleksi"), GO, "hasil")
        if ctx.account
        else Button(t.gettext("Hubungkan akun"), GO, "hubungkan")
    )
    return rows(
        first,
        Button(t.gettext("Kartu & saldo"), GO, "kartu"),
        Button(t.gettext("Video perkenalan"), GO, "video"),
        Button(t.gettext("Panduan pelatihan"), GO, "panduan"),
        Button(t.gettext("Bandingkan platform"), GO, "platform"),
        Button(t.gettext("Cari pelatihan"), GO, "pelatihan"),
        Button(t.gettext("Cek syarat peserta"), GO, "syarat"),
        Button(t.gettext("Cek link / penipuan"), GO, "ceklink"),
        Button(t.gettext("Pengaturan"), GO, "pengaturan"),
        *((contact,) if (contact := contact_button(ctx)) else ()),  # the 10th entry: a person (issue 8)
        per_row=2,
    )


def contact_button(ctx: Context) -> Button | None:
    """"Hubungi petugas": the hand-off to a person (handlers/handoff.py), when a support group is configured."""
    return Button(ctx.t.gettext("Hubungi petugas"), GO, "petugas") if ctx.config.handoff.enabled else None


def show_menu(ctx: Context, intro: str | None = None) -> None:
    t = ctx.t
    text = intro or t.gettext("Pilih yang Anda perlukan:")
    ctx.say(text, menu_buttons(ctx))


@routes.command("start", "menu")
async def start(ctx: Context) -> None:
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
    show_menu(ctx, greeting + "\n\n" + t.gettext("Pilih yang Anda perlukan:"))


@routes.command("bantuan", "help")
async def help_(ctx: Context) -> None:
    t = ctx.t
    lines = [
        t.gettext("<b>Yang bisa saya bantu</b>"),
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
