"""Free text on WhatsApp (issue 13): signed webhooks into the real web app, replies read from the fake Cloud API."""

from __future__ import annotations

from bot.demo import DemoApplicant
from tests.whatsapp.user import WhatsAppUser


async def test_what_applicants_type_is_understood(user: WhatsAppUser, people: list[DemoApplicant]) -> None:
    siti = people[0]
    [greeting] = await user.text("P")
    assert greeting.interactive_type == "list" and "Hubungkan akun" in user.titles
    await user.text("assalamualaikum min, saldo sy brp")
    assert user.text_out.startswith("Wa'alaikumsalam") and "belum terhubung" in user.text_out
    await user.press("Hubungkan akun")
    assert "16 digit NIK" in user.text_out  # WhatsApp vouches for the number: straight to the NIK
    await user.text(siti.nik)
    assert "Berhasil" in user.text_out and "Rp3.550.000" in user.text_out
    await user.text("kpn insentif cair kak")
    assert "Rp600.000" in user.text_out
    await user.text("gmn cara daftar ulang")
    assert "Gabung Gelombang" in user.text_out
    await user.text("ok sip")
    assert "Siap" in user.text_out and "mengerti" not in user.text_out


async def test_a_typed_number_and_a_label_from_an_earlier_message(user: WhatsAppUser) -> None:
    await user.text("ada pelatihan dasar?")
    assert "Hasil pencarian “dasar”" in user.text_out
    await user.press("Berikutnya")
    seventh = next(title for title in user.titles if title.startswith("7. "))
    await user.text("7")
    assert "Harga" in user.text_out and seventh.removeprefix("7. ").rstrip("…") in user.text_out
    await user.text("cek syarat peserta")  # the menu's label, typed
    assert "Pertanyaan 1 dari" in user.text_out


async def test_out_of_scope_never_gets_a_confident_wrong_answer(user: WhatsAppUser) -> None:
    await user.text("butuh pinjaman 5 juta cepat cair")
    assert "Saya bisa membantu soal Kartu Prakerja" in user.text_out
    assert "Menu" in user.titles


# The qa-chat tester's walk: a question at the NIK step, leaving it with "ga jadi kak", a keyword with words around
# it, and the quiz answered "ga min"; each message and what its answer (text or buttons) must hold ("" for nothing).
WALK = [("mau hubungin akun", "16 digit NIK"), ("nik itu yg mana ya kak", "tertulis di KTP"),
        ("ga jadi kak", "Hubungkan akun"), ("cari kursus", ""), ("mau belajar excel kak", "Hasil pencarian “excel”"),
        ("syarat nya apa aja", ""), ("ga min", "Pertanyaan 2 dari")]


async def test_steps_walked_the_way_whatsapp_users_type(user: WhatsAppUser) -> None:
    for typed, expected in WALK:
        await user.text(typed)
        seen = user.text_out + "\n" + "\n".join(user.titles)
        assert expected in seen and "Periksa digit" not in seen, (typed, seen)
