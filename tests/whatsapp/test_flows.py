"""Every applicant flow on WhatsApp: signed webhooks into the real app, replies read from the fake Cloud API."""

from __future__ import annotations

from bot.app import App
from bot.demo import DemoApplicant
from tests.whatsapp.user import WhatsAppUser

SITI = "6281100000001"


async def test_greeting_gets_the_menu_as_an_interactive_list(user: WhatsAppUser) -> None:
    [menu] = await user.text("halo")
    assert menu.interactive_type == "list"
    assert "Hubungkan akun" in user.titles and "Cek syarat peserta" in user.titles


async def test_commands_work_with_or_without_slash_in_any_case(user: WhatsAppUser) -> None:
    for typed in ("menu", "/menu", "Menu", "MENU", "/MENU"):
        [reply] = await user.text(typed)
        assert reply.interactive_type == "list", typed
        assert "belum mengerti" not in reply.body, typed
    await user.text("/bantuan")
    assert "/hasil" in user.text_out


async def test_link_with_the_sender_number_and_nik_then_result(
    user: WhatsAppUser, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    await user.text("hubungkan")
    # WhatsApp vouches for the sender's number: no contact step, straight to the NIK.
    assert "+62811****0001 terdaftar" in user.text_out and "NIK" in user.text_out
    await user.text(siti.nik)
    assert "Berhasil" in user.text_out and "*Siti Rahmawati*" in user.text_out
    await user.press("Hasil seleksi")
    assert "Lolos" in user.text_out and "Tidak Lolos" not in user.text_out
    assert "5123 4567 8901 2345" not in user.text_out  # no spoilers on WhatsApp: masked
    assert "•••• •••• •••• 2345" in user.text_out


async def test_card_is_masked_with_a_button_that_reveals_it(user: WhatsAppUser, people: list[DemoApplicant]) -> None:
    await user.text("hubungkan")
    await user.text(people[0].nik)
    [card] = await user.text("kartu")
    assert "•••• •••• •••• 2345" in card.body and "5123" not in card.body
    assert "Rp3.550.000" in card.body
    assert user.titles[0] == "Tampilkan no. kartu"
    [revealed] = await user.press("Tampilkan")
    assert "5123 4567 8901 2345" in revealed.body


async def test_wrong_nik_counts_and_five_lock_the_number(user: WhatsAppUser, people: list[DemoApplicant]) -> None:
    budi = people[1]
    await user.text("hubungkan")
    await user.text(budi.nik)
    assert "Sisa 4 percobaan" in user.text_out
    for _ in range(4):
        await user.text(budi.nik)
    assert "dikunci sampai" in user.text_out
    await user.text("hubungkan")
    assert "dikunci" in user.text_out


async def test_video_link_and_mark_watched(user: WhatsAppUser, people: list[DemoApplicant]) -> None:
    [video] = await user.text("video")
    assert "https://www.prakerja.go.id/" in video.body
    assert "Sudah saya tonton" not in user.titles  # only a linked Lolos applicant's guide is ticked (issue 13)
    await user.text("hubungkan")
    await user.text(people[0].nik)
    await user.text("platform")  # step 2 first: the guide goes in order
    await user.text("video")
    assert "Sudah saya tonton" in user.titles
    await user.press("Sudah saya tonton")
    assert "ditandai ditonton" in user.text_out


async def test_guide_checklist(user: WhatsAppUser) -> None:
    await user.text("panduan")
    assert "Panduan Mengikuti Pelatihan" in user.text_out and "⬜" in user.text_out


async def test_platform_comparison(user: WhatsAppUser) -> None:
    await user.text("platform")
    assert "Bukalapak" in user.text_out and "Tokopedia" in user.text_out
    await user.press("Pintaria")
    assert "Pintaria" in user.text_out and "http" in user.text_out


async def test_training_search_by_typed_category_number(user: WhatsAppUser) -> None:
    await user.text("pelatihan")
    # More categories than a list holds: numbered text with pages; typing the number picks it.
    assert "1. Bahasa" in user.text_out and "Berikutnya ▶" in user.titles
    await user.text("1")
    assert "Bahasa Inggris" in user.text_out
    await user.text("menu")
    await user.text("/pelatihan barista")
    assert "arista" in user.text_out


async def test_eligibility_questionnaire(user: WhatsAppUser) -> None:
    [question] = await user.text("syarat")
    assert question.choices  # yes / no as buttons
    await user.press("Tidak")
    assert user.last and "belum mengerti" not in user.text_out


async def test_scam_link_check(user: WhatsAppUser) -> None:
    await user.text("ceklink")
    await user.text("https://prakerja-hadiah.xyz/klaim")
    assert "resmi" in user.text_out.lower()
    await user.text("menu")
    await user.text("cek ini https://www.prakerja.go.id/")  # a link typed outside the step is checked too
    assert "prakerja.go.id" in user.text_out


async def test_language_switch_to_english_is_remembered(user: WhatsAppUser, app: App) -> None:
    await user.text("bahasa")
    await user.press("English")
    chat = await app.storage.chats.find("whatsapp", SITI)
    assert chat is not None and chat.locale == "en"


async def test_stop_and_resume_announcements(user: WhatsAppUser, app: App) -> None:
    await user.text("berhenti")
    chat = await app.storage.chats.find("whatsapp", SITI)
    assert chat is not None and chat.opted_out
    await user.press("Mulai terima pengumuman")
    chat = await app.storage.chats.find("whatsapp", SITI)
    assert chat is not None and not chat.opted_out


async def test_unlink(user: WhatsAppUser, app: App, people: list[DemoApplicant]) -> None:
    await user.text("hubungkan")
    await user.text(people[0].nik)
    await user.text("putuskan")
    await user.press("Ya, putuskan")
    assert "tidak lagi terhubung" in user.text_out
    chat = await app.storage.chats.find("whatsapp", SITI)
    assert chat is not None and chat.account_id is None
