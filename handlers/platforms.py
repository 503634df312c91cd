"""The seven training platforms compared (/platform): a side-by-side summary and one page per platform.

Everything shown comes from the catalogue (`storage/seed/platforms.json` or an imported one): each platform's
offer and how to pay with the Kartu Prakerja number, in the chat's language with Indonesian as the fallback.
A page is addressed by the platform's position, so a button payload stays short whatever the platform id.
"""

from __future__ import annotations

from handlers.api import Button, LinkButton, rows
from handlers.context import Context
from handlers.guide import tick
from handlers.i18n import DEFAULT_LOCALE
from handlers.menu import show_menu
from handlers.router import GO, Routes, escape
from handlers.trainings import platform_trainings_button
from storage import Progress
from storage.models import Platform

routes = Routes()

PLATFORM_PAGE = "plat"


def platform_text(platform: Platform, locale: str, field: str) -> str:
    """One of the platform's texts ('offer', 'payment') in `locale`, falling back to Indonesian."""
    text = platform.texts.get(locale, {}).get(field)
    return text or platform.texts.get(DEFAULT_LOCALE, {}).get(field, "")


def _stats_text(ctx: Context, stats: tuple[int, int, int] | None) -> str:
    t = ctx.t
    if stats is None:
        return t.gettext("belum ada pelatihan di katalog kami")
    count, low, high = stats
    return t.ngettext(
        "{count} pelatihan di katalog kami, {low} sampai {high}",
        "{count} pelatihan di katalog kami, {low} sampai {high}",
        count,
    ).format(count=count, low=t.money(low), high=t.money(high))


@routes.command("platform", "platforms")
async def compare(ctx: Context) -> None:
    t = ctx.t
    platforms = await ctx.storage.catalogue.platforms()
    if not platforms:
        show_menu(ctx, t.gettext("Daftar platform belum tersedia. Silakan coba lagi nanti."))
        return
    stats = await ctx.storage.catalogue.training_stats()
    lines = [
        t.gettext("<b>Bandingkan {count} platform pelatihan Kartu Prakerja</b>").format(count=len(platforms)),
        t.gettext(
            "Semua platform ini menerima pembayaran dengan Nomor Kartu Prakerja. Bandingkan dulu, lalu pilih"
            " pelatihan yang sesuai kebutuhan Anda."
        ),
        "",
    ]
    for platform in platforms:
        lines.append(
            f"{platform.position}. <b>{escape(platform.name)}</b>: "
            f"{escape(platform_text(platform, t.locale, 'offer'))} "
            f"<i>({_stats_text(ctx, stats.get(platform.id))})</i>"
        )
    lines += ["", t.gettext("Tekan nama platform untuk cara bayar dan alamat situsnya.")]
    buttons = rows(*(Button(p.name, PLATFORM_PAGE, str(p.position)) for p in platforms), per_row=2)
    buttons += rows(Button(t.gettext("Cari pelatihan"), GO, "pelatihan"), Button(t.gettext("Menu"), GO, "menu"),
                    per_row=2)
    ctx.say("\n".join(lines), buttons)
    await tick(ctx, Progress.PLATFORMS_COMPARED)


@routes.action(PLATFORM_PAGE)
async def platform_page(ctx: Context) -> None:
    t = ctx.t
    platforms = await ctx.storage.catalogue.platforms()
    arg = ctx.event.arg
    index = next((i for i, p in enumerate(platforms) if str(p.position) == arg), None)
    if index is None:  # a stale or forged button
        ctx.say(t.gettext("Platform itu tidak ada lagi di daftar. Ini daftar yang berlaku:"))
        await compare(ctx)
        return
    platform = platforms[index]
    stats = (await ctx.storage.catalogue.training_stats()).get(platform.id)
    text = "\n".join(
        [
            t.gettext("<b>{name}</b> (platform {number} dari {total})").format(
                name=escape(platform.name), number=index + 1, total=len(platforms)
            ),
            escape(platform_text(platform, t.locale, "offer")),
            "",
            t.gettext("<b>Cara bayar</b>"),
            escape(platform_text(platform, t.locale, "payment")),
            "",
            t.gettext("<b>Situs resmi</b>: {domains}").format(domains=escape(", ".join(platform.domains))),
            t.gettext("<b>Katalog</b>: {stats}").format(stats=_stats_text(ctx, stats)),
        ]
    )
    buttons: list[Button | LinkButton] = [
        LinkButton(t.gettext("Buka situs {name}").format(name=platform.name), platform.url)
    ]
    if stats is not None:
        buttons.append(platform_trainings_button(ctx, platform))
    layout = rows(*buttons)
    neighbours = []
    if index > 0:
        before = platforms[index - 1]
        neighbours.append(Button("◀ " + before.name, PLATFORM_PAGE, str(before.position)))
    if index + 1 < len(platforms):
        after = platforms[index + 1]
        neighbours.append(Button(after.name + " ▶", PLATFORM_PAGE, str(after.position)))
    layout += rows(*neighbours, per_row=2)
    layout += rows(Button(t.gettext("Semua platform"), GO, "platform"), Button(t.gettext("Menu"), GO, "menu"),
                   per_row=2)
    ctx.say(text, layout, replace=True)
    await tick(ctx, Progress.PLATFORMS_COMPARED)
