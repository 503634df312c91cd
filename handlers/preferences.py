"""Language (/bahasa), announcements on or off (/berhenti, /mulai), and the settings sub-menu."""

from __future__ import annotations

from dataclasses import replace

from handlers.api import Button, rows
from handlers.context import Context
from handlers.i18n import SUPPORTED_LOCALES
from handlers.menu import show_menu
from handlers.router import GO, Routes

routes = Routes()

SET_LOCALE = "locale"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


@routes.command("pengaturan", "settings")
async def settings_menu(ctx: Context) -> None:
    t = ctx.t
    announcements = (
        Button(t.gettext("Mulai terima pengumuman"), GO, "mulai")
        if ctx.chat.opted_out
        else Button(t.gettext("Berhenti terima pengumuman"), GO, "berhenti")
    )
    buttons = [Button(t.gettext("Bahasa / Language"), GO, "bahasa"), announcements]
    if ctx.account:
        buttons.append(Button(t.gettext("Putuskan akun"), GO, "putuskan"))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(t.gettext("<b>Pengaturan</b>"), rows(*buttons))


@routes.command("bahasa", "language")
async def choose_language(ctx: Context) -> None:
    ctx.say(
        ctx.t.gettext("Pilih bahasa / Choose a language:"),
        rows(*(Button(LANGUAGE_NAMES[code], SET_LOCALE, code) for code in SUPPORTED_LOCALES), per_row=2),
    )


@routes.action(SET_LOCALE)
async def set_language(ctx: Context) -> None:
    code = ctx.event.arg
    if code not in SUPPORTED_LOCALES:  # forged payload
        await choose_language(ctx)
        return
    await apply_locale(ctx, code)


async def apply_locale(ctx: Context, code: str) -> None:
    """Switch the chat to a supported language and say so in it, with the menu."""
    await ctx.storage.chats.set_locale(ctx.chat.id, code)
    ctx.snapshot = replace(ctx.snapshot, chat=replace(ctx.chat, locale=code))
    ctx.use_locale(code)
    show_menu(ctx, ctx.t.gettext("Bahasa diganti ke Bahasa Indonesia."))


@routes.command("berhenti", "stop")
async def stop_announcements(ctx: Context) -> None:
    t = ctx.t
    await ctx.storage.chats.set_opted_out(ctx.chat.id, True)
    ctx.say(
        t.gettext(
            "Anda tidak akan menerima pengumuman dan siaran di chat ini. Kirim /mulai untuk mengaktifkannya lagi."
        ),
        rows(Button(t.gettext("Mulai terima pengumuman"), GO, "mulai"), Button(t.gettext("Menu"), GO, "menu")),
    )


@routes.command("mulai", "resume")
async def resume_announcements(ctx: Context) -> None:
    t = ctx.t
    await ctx.storage.chats.set_opted_out(ctx.chat.id, False)
    ctx.say(
        t.gettext("Pengumuman diaktifkan lagi: hasil seleksi dan info penting akan dikirim ke chat ini."),
        rows(Button(t.gettext("Menu"), GO, "menu")),
    )
