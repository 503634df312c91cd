"""The command list shown in Telegram's menu (setMyCommands): Indonesian by default, English for English apps."""

from __future__ import annotations

from telegram import Bot, BotCommand

from handlers.i18n import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES, translator

APPLICANT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Mulai dan tampilkan menu")),
    ("menu", N_("Menu utama")),
    ("hubungkan", N_("Hubungkan chat ini dengan akun Prakerja")),
    ("hasil", N_("Hasil seleksi per gelombang")),
    ("kartu", N_("Nomor kartu dan saldo")),
    ("video", N_("Video perkenalan Kartu Prakerja")),
    ("panduan", N_("5 langkah mengikuti pelatihan")),
    ("platform", N_("Bandingkan 7 platform pelatihan")),
    ("pelatihan", N_("Cari pelatihan sesuai saldo")),
    ("syarat", N_("Cek syarat peserta")),
    ("ceklink", N_("Cek apakah sebuah link resmi")),
    ("bahasa", N_("Ganti bahasa / change language")),
    ("berhenti", N_("Berhenti menerima pengumuman")),
    ("mulai", N_("Mulai lagi menerima pengumuman")),
    ("putuskan", N_("Putuskan chat ini dari akun")),
    ("petugas", N_("Hubungi petugas")),
    ("bantuan", N_("Bantuan dan daftar perintah")),
)


def bot_commands(locale: str) -> list[BotCommand]:
    t = translator(locale)
    return [BotCommand(name, t.gettext(description)) for name, description in APPLICANT_COMMANDS]


async def set_commands(bot: Bot) -> None:
    """Register the command menu: the default list in Indonesian, one per other supported language."""
    for locale in SUPPORTED_LOCALES:
        language = None if locale == DEFAULT_LOCALE else locale
        await bot.set_my_commands(bot_commands(locale), language_code=language)
