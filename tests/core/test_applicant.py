"""The applicant's journey through the router: results, card, video, guide, language, announcements."""

from __future__ import annotations

import pytest

from bot.demo import DemoApplicant
from tests.auxil.driver import ChatDriver


async def test_start_shows_menu_with_linking_first(chat: ChatDriver) -> None:
    await chat.command("start")
    assert "Asisten Prakerja" in chat.text_out
    assert chat.labels[0] == "Hubungkan akun"
    assert len(chat.labels) <= 10  # fits a WhatsApp list


@pytest.mark.parametrize("command", ["hasil", "kartu"])
async def test_personal_data_needs_a_linked_chat(chat: ChatDriver, command: str) -> None:
    await chat.command(command)
    assert "belum terhubung" in chat.text_out
    assert "Hubungkan akun" in chat.labels


async def test_lolos_result_shows_card_and_next_steps(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.link(siti.phone, siti.nik)
    await chat.command("hasil")
    text = chat.text_out
    assert "Gelombang 1: Lolos" in text
    assert "<tg-spoiler>5123 4567 8901 2345</tg-spoiler>" in text
    assert "Bayar pelatihan dengan Nomor Kartu Prakerja" in text or "Nomor Kartu Prakerja" in text
    assert "1. Cek dashboard" in text and "5. Beli pelatihan" in text


async def test_tidak_lolos_result_says_no_data_entry_again(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    budi = people[1]
    await chat.link(budi.phone, budi.nik)
    await chat.command("hasil")
    assert "Tidak Lolos" in chat.text_out
    assert "tanpa perlu memasukkan semua data lagi" in chat.text_out
    assert "DPR/DPRD" in chat.text_out


async def test_unpublished_wave_says_when_it_will_be_announced(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    agus = people[2]
    await chat.link(agus.phone, agus.nik)
    await chat.command("hasil")
    assert "belum diumumkan" in chat.text_out and "WIB" in chat.text_out
    assert "Lolos" not in chat.text_out


async def test_card_shows_spoiler_and_rupiah_balance(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.link(siti.phone, siti.nik)
    await chat.command("kartu")
    assert "<tg-spoiler>5123 4567 8901 2345</tg-spoiler>" in chat.text_out
    assert "Rp3.550.000" in chat.text_out
    assert "WIB" in chat.text_out


async def test_video_can_be_marked_watched_and_guide_shows_it(chat: ChatDriver, people: list[DemoApplicant]
                                                             ) -> None:
    await chat.command("panduan")
    assert "0 dari 5" in chat.text_out
    await chat.command("video")
    assert "https://" in chat.text_out
    assert "Sudah saya tonton" not in chat.labels  # the guide is ticked for a linked Lolos applicant (issue 13)
    await chat.link(people[0].phone, people[0].nik)
    await chat.command("platform")  # step 2 before step 3: the guide goes in order
    await chat.command("video")
    await chat.press("Sudah saya tonton")
    await chat.command("panduan")
    assert "3 dari 5" in chat.text_out
    assert "✅ 3. Tonton video" in chat.text_out
    await chat.command("video")
    assert "Sudah saya tonton" not in chat.labels


async def test_language_switch_is_remembered(chat: ChatDriver) -> None:
    await chat.command("bahasa")
    await chat.press("English")
    await chat.command("menu")
    english = chat.labels
    await chat.command("bahasa")
    await chat.press("Bahasa Indonesia")
    await chat.command("menu")
    assert chat.labels[0] == "Hubungkan akun"
    assert english[0] == "Link account"


async def test_english_chat_sees_english_money_and_words(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.command("bahasa")
    await chat.press("English")
    assert "The language is now English." in chat.text_out
    await chat.link(siti.phone, siti.nik)
    await chat.command("kartu")
    assert "Training balance: <b>Rp3,550,000</b>" in chat.text_out


async def test_forged_language_payload_is_refused(chat: ChatDriver) -> None:
    await chat.action("locale", "xx")
    assert "Pilih bahasa" in chat.text_out


async def test_stop_and_resume_announcements(app, chat: ChatDriver) -> None:
    await chat.command("berhenti")
    assert "/mulai" in chat.text_out
    stored = await app.storage.chats.find("console", chat.user_id)
    assert stored is not None and stored.opted_out
    await chat.press("Mulai terima pengumuman")
    stored = await app.storage.chats.find("console", chat.user_id)
    assert stored is not None and not stored.opted_out


@pytest.mark.parametrize(
    "text", ["", " ", "halo", "🙂🙂🙂", "x" * 10_000, "'; DROP TABLE chats; --", "\u0000\u202e"]
)
async def test_any_text_gets_the_menu_back(chat: ChatDriver, text: str) -> None:
    await chat.text(text)
    assert chat.replies, "never silence"
    assert "Hubungkan akun" in chat.labels or "Menu" in chat.labels  # the menu, or the way to it


async def test_unknown_command_and_stale_button_get_the_menu(chat: ChatDriver) -> None:
    await chat.command("tidakada")
    assert "belum mengerti" in chat.text_out
    await chat.action("no_such_action", "1")
    assert "tidak berlaku" in chat.text_out
    await chat.action("go", "umumkan")  # an admin command, forged from a button by an applicant
    assert "tidak berlaku" in chat.text_out


async def test_bare_command_words_work_like_commands(chat: ChatDriver) -> None:
    await chat.text("Kartu")
    assert "belum terhubung" in chat.text_out


async def test_a_new_chat_starts_in_the_language_of_the_users_app(app) -> None:  # type: ignore[no-untyped-def]
    english = ChatDriver(app.router, user_id="4004", language_hint="en-US")
    await english.command("start")
    assert english.labels[0] == "Link account"
    other = ChatDriver(app.router, user_id="4005", language_hint="de")  # unsupported: Indonesian
    await other.command("start")
    assert other.labels[0] == "Hubungkan akun"
