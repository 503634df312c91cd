"""Free text on Telegram (issue 13): real Update JSON -> the real Application -> the fake Bot API."""

from __future__ import annotations

from bot.demo import DemoApplicant
from tests.telegram.user import TelegramUser


async def test_what_applicants_type_is_understood(user: TelegramUser, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await user.send("halo kak")
    assert "Asisten Prakerja" in user.text and "Hubungkan akun" in user.labels
    await user.send("saldo saya berapa")
    assert "belum terhubung" in user.text
    await user.press("Hubungkan akun")
    await user.share_contact(siti.phone)
    await user.send(siti.nik)
    assert "Berhasil" in user.text and "Rp3.550.000" in user.text  # answered without asking again
    await user.send("kapan pencairan insentif?")
    assert "Rp600.000" in user.text
    urls = [b["url"] for c in user.replies for row in c.params["reply_markup"]["inline_keyboard"] for b in row
            if "url" in b]
    assert urls == ["https://www.prakerja.go.id/"]  # the official place to go next
    await user.send("ada kursus menjahit?")
    assert "Hasil pencarian “menjahit”" in user.text
    await user.send("7")  # nothing numbered 7 on screen: plain text
    await user.send("makasih min")
    assert "Sama-sama" in user.text


async def test_out_of_scope_and_stickers(user: TelegramUser) -> None:
    await user.send("jual pulsa murah kak")
    assert "Saya bisa membantu soal Kartu Prakerja" in user.text and user.labels[-1] == "Menu"
    await user.sticker()
    assert "Stikernya sudah saya terima" in user.text


async def test_linking_accepted_by_typing_with_the_nik_in_a_sentence(user: TelegramUser,
                                                                     people: list[DemoApplicant]) -> None:
    """The qa-chat tester's walk: the link offer answered "ok kak" rather than pressed, a question at the NIK step,
    then the NIK in groups inside a sentence; the balance asked for at first comes without asking again."""
    siti = people[0]
    await user.send("saldo sy brp kak")
    assert "belum terhubung" in user.text
    await user.send("ok kak")
    await user.share_contact(siti.phone)
    await user.send("nik itu yg mana ya")
    assert "tertulis di KTP" in user.text and "Batal" in user.labels
    await user.send("NIK saya " + " ".join(siti.nik[i:i + 4] for i in range(0, 16, 4)) + " kak")
    assert "Berhasil" in user.text and "Rp3.550.000" in user.text
