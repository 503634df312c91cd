"""/platform: the seven platforms side by side, one page each, texts from the catalogue."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from bot.app import App
from bot.demo import DemoApplicant
from handlers.api import LinkButton
from handlers.platforms import PLATFORM_PAGE
from handlers.preferences import SET_LOCALE
from tests.auxil.driver import ChatDriver

NAMES = ["Bukalapak", "Mau Belajar Apa", "Pintaria", "Pijar Mahir", "Sisnaker", "Sekolahmu", "Tokopedia"]


def link_buttons(chat: ChatDriver) -> list[LinkButton]:
    return [b for r in chat.replies for row in r.buttons for b in row if isinstance(b, LinkButton)]


async def test_summary_lists_all_seven_with_a_button_each_and_marks_the_guide(chat: ChatDriver,
                                                                              people: list[DemoApplicant]) -> None:
    await chat.link(people[0].phone, people[0].nik)  # the guide is a linked Lolos applicant's (issue 13)
    await chat.command("panduan")
    assert "⬜ 2." in chat.text_out
    await chat.command("platform")
    for name in NAMES:
        assert name in chat.text_out
        assert name in chat.labels
    assert "Nomor Kartu Prakerja" in chat.text_out
    await chat.command("panduan")
    assert "✅ 2." in chat.text_out


async def test_menu_button_opens_the_comparison(chat: ChatDriver) -> None:
    await chat.command("menu")
    await chat.press("Bandingkan platform")
    assert all(name in chat.text_out for name in NAMES)


async def test_pages_go_from_first_to_last_and_back_to_the_summary(chat: ChatDriver) -> None:
    await chat.command("platform")
    await chat.press("Bukalapak")
    assert "Cara bayar" in chat.text_out and "16 digit Nomor Kartu Prakerja" in chat.text_out
    assert urlsplit(link_buttons(chat)[0].url).hostname.endswith("bukalapak.com")  # type: ignore[union-attr]
    assert not any(label.startswith("◀") for label in chat.labels)  # nothing before the first
    seen = ["Bukalapak"]
    while any(label.endswith("▶") for label in chat.labels):
        await chat.press("▶")
        assert chat.replies[0].replace  # the page replaces the one the button was on
        seen.append(chat.replies[0].text.split("</b>")[0].removeprefix("<b>"))
    assert seen == NAMES
    await chat.press("◀ Sekolahmu")
    assert "Sekolahmu" in chat.replies[0].text and "sekolah.mu" in chat.text_out
    await chat.press("Semua platform")
    assert all(name in chat.text_out for name in NAMES)


async def test_each_platform_links_to_its_own_site(app: App, chat: ChatDriver) -> None:
    platforms = await app.storage.catalogue.platforms()
    for platform in platforms:
        await chat.action(PLATFORM_PAGE, str(platform.position))
        host = urlsplit(link_buttons(chat)[0].url).hostname or ""
        assert any(host == d or host.endswith("." + d) for d in platform.domains), (platform.name, host)


async def test_platform_trainings_button_lists_only_that_platform(chat: ChatDriver) -> None:
    await chat.command("platform")
    await chat.press("Sisnaker")
    await chat.press("Pelatihan di Sisnaker")
    assert "10 pelatihan" in chat.text_out or "dari 10" in chat.text_out
    items = [line for line in chat.text_out.splitlines() if " · Rp" in line]
    assert items and all(line.startswith("Sisnaker · ") for line in items)


async def test_english_texts_with_indonesian_fallback(app: App, chat: ChatDriver) -> None:
    platforms = await app.storage.catalogue.platforms()
    trainings, _ = await app.storage.catalogue.search_trainings([], None, 0, 1000)
    only_id = replace(platforms[0], texts={"id": platforms[0].texts["id"]})
    await app.storage.catalogue.replace([only_id, *platforms[1:]], trainings)
    await chat.action(SET_LOCALE, "en")
    await chat.command("platform")
    assert "A marketplace with a dedicated Kartu Prakerja page" in chat.text_out  # Tokopedia, in English
    assert platforms[0].texts["id"]["offer"] in chat.text_out  # Bukalapak has no English text: Indonesian


async def test_stale_platform_button_shows_the_list_again(chat: ChatDriver) -> None:
    for forged in ("99", "", "abc", "1" * 5000):
        await chat.action(PLATFORM_PAGE, forged)
        assert "tidak ada lagi" in chat.text_out
        assert all(name in chat.labels for name in NAMES)
