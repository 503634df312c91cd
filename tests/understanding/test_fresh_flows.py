"""Multi-step flows walked by free text the way applicants type on WhatsApp (the qa-chat tester's findings, issue 13
points 1, 5 and 6), through the real router on a real SQLite file."""

from __future__ import annotations

import pytest

from bot.demo import DemoApplicant
from tests.auxil.driver import ChatDriver

MENU = "Pilih yang Anda perlukan"


async def at_the_nik_step(chat: ChatDriver, person: DemoApplicant, asked: str = "hubungkan akun") -> None:
    """Linking asked for in words, the number shared: the bot now waits for the NIK."""
    await chat.text(asked)
    await chat.contact(person.phone)


@pytest.mark.parametrize("typed", ["batal kak", "ga jadi deh", "gk jadi kak", "cancel aja", "kembali ke menu utama",
                                   "menu dong min", "never mind", "batalin aja kak"])
async def test_leaving_the_nik_step_the_way_people_type_it(chat: ChatDriver, people: list[DemoApplicant],
                                                            typed: str) -> None:
    await at_the_nik_step(chat, people[0])
    await chat.text(typed)
    assert MENU in chat.text_out
    await chat.text(people[0].nik)  # the step is left: a NIK now is not taken for linking
    assert "Berhasil" not in chat.text_out


async def test_words_at_the_nik_step_get_where_to_find_the_nik_not_a_digit_error(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await at_the_nik_step(chat, people[0], "mau login")
    await chat.text("nik itu yg mana ya")
    assert "16 digit angka yang tertulis di KTP" in chat.text_out and "Periksa digit" not in chat.text_out
    assert "Batal" in chat.labels
    await chat.text("NIK sy " + " ".join(people[0].nik[i:i + 4] for i in range(0, 16, 4)) + " kak")  # still waiting
    assert "Berhasil" in chat.text_out


async def test_the_keyword_step_searches_the_topic_not_the_words_around_it(chat: ChatDriver) -> None:
    await chat.text("kursus")
    assert "Ketik kata kunci" in chat.text_out
    await chat.text("mau belajar excel kak")
    assert "Hasil pencarian “excel”" in chat.text_out and "Microsoft Excel" in chat.text_out
    await chat.press("Cari lagi")
    await chat.text("ada kelas menjahit gk min?")
    assert "Hasil pencarian “menjahit”" in chat.text_out and "Menjahit Busana Wanita" in chat.text_out


@pytest.mark.parametrize(("typed", "next_question"), [("ga kak", True), ("bukan min", True), ("belum pernah", True),
                                                        ("iya bener", False)])
async def test_the_eligibility_quiz_takes_yes_and_no_as_people_type_them(chat: ChatDriver, typed: str,
                                                                        next_question: bool) -> None:
    await chat.text("syarat nya apa aja")
    assert "Pertanyaan 1 dari" in chat.text_out
    await chat.text(typed)
    assert "Jawab dengan tombol" not in chat.text_out
    assert ("Pertanyaan 2 dari" in chat.text_out) is next_question


async def test_all_trainings_typed_as_words_is_not_a_search_for_all(chat: ChatDriver) -> None:
    await chat.text("semua pelatihan")
    assert "Tidak ada pelatihan yang cocok" not in chat.text_out and "Semua pelatihan" in chat.labels


@pytest.mark.parametrize(("typed", "not_offered"), [
    ("rekomendasi pinjol cepet cair", "Cari “"),  # never a training search for a loan
    ("beli kuota murah dmn", "Cari “"),
    ("jual akun ff", "Putuskan akun"),  # shares only "akun" with unlinking
    ("besok hujan gk", "Berhenti terima pengumuman"),  # shares only "tidak"
])
async def test_out_of_scope_is_offered_only_what_shares_a_real_word_with_it(chat: ChatDriver, typed: str,
                                                                          not_offered: str) -> None:
    await chat.text(typed)
    assert "Saya bisa membantu soal Kartu Prakerja" in chat.text_out
    assert not any(label.startswith(not_offered) for label in chat.labels), chat.labels


async def test_saying_the_video_was_watched_out_of_order_tells_which_step_comes_first(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await chat.link(people[0].phone, people[0].nik)  # Siti: lolos, platforms not compared yet
    await chat.text("sudah nonton video kak")
    assert "selesaikan dulu langkah 2" in chat.text_out and "Bandingkan platform" in chat.labels
    assert "Sudah saya tonton" not in chat.labels
    await chat.press("Bandingkan platform")
    await chat.text("udh nonton vidionya")
    assert "Sudah saya tonton" in chat.labels and "selesaikan dulu" not in chat.text_out


@pytest.mark.parametrize("accept", ["hubungkan", "ok kak", "iya", "mau hubungin akun", "contact"])
async def test_personal_data_asked_then_linking_typed_not_pressed_still_answers_it(
    chat: ChatDriver, people: list[DemoApplicant], accept: str
) -> None:
    siti = people[0]
    await chat.text("saldo sy brp kak")
    assert "belum terhubung" in chat.text_out
    if accept == "contact":  # the number shared without pressing "Hubungkan akun"
        await chat.contact(siti.phone)
    else:
        await chat.text(accept)
        await chat.contact(siti.phone)
    await chat.text(siti.nik)
    assert "Berhasil" in chat.text_out and "Saldo pelatihan: <b>Rp3.550.000</b>" in chat.text_out


async def test_a_question_typed_in_the_middle_of_the_quiz_is_answered(chat: ChatDriver) -> None:
    await chat.text("cek syarat peserta")
    await chat.text("kpn insentif cair kak")
    assert "Rp600.000" in chat.text_out and "Jawab dengan tombol" not in chat.text_out
    await chat.text("ga")  # the quiz was left: not an answer to its question any more
    assert "Pertanyaan 2 dari" not in chat.text_out
    await chat.text("syarat nya apa aja")
    await chat.text("hmm")  # small talk stays in the quiz
    assert "Jawab dengan tombol" in chat.text_out


@pytest.mark.parametrize(("typed", "answered"), [("saldo sy brp", "belum terhubung"),
                                                ("kpn insentif cair", "Rp600.000")])
async def test_a_question_typed_where_a_keyword_is_awaited_is_answered(chat: ChatDriver, typed: str,
                                                                       answered: str) -> None:
    await chat.text("cari kursus")
    await chat.text(typed)
    assert answered in chat.text_out and "Hasil pencarian" not in chat.text_out
    await chat.text("cari kursus")
    await chat.text("bahasa inggris")  # a topic that is also a language: still a search
    assert "Hasil pencarian “bahasa inggris”" in chat.text_out


@pytest.mark.parametrize(("typed", "expected"), [
    ("mau ngomong sama admin", "petugas"),  # the way to a person is never trapped behind the NIK
    ("insentifnya kapan cair kak", "insentif"),  # a programme question is answered
])
async def test_a_request_typed_at_the_nik_step_leaves_it_and_is_answered(
    chat: ChatDriver, people: list[DemoApplicant], typed: str, expected: str
) -> None:
    await at_the_nik_step(chat, people[0])
    await chat.text(typed)
    assert "Saya menunggu NIK Anda" not in chat.text_out and expected in chat.text_out.lower()
    await chat.text(people[0].nik)  # the step was left: a NIK now is not taken for linking
    assert "Berhasil" not in chat.text_out


async def test_asking_for_the_balance_at_the_nik_step_keeps_waiting_for_the_nik(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await at_the_nik_step(chat, people[0])
    await chat.text("saldo sy brp")  # personal data needs the link being made: the NIK is still what is needed
    assert "Saya menunggu NIK Anda" in chat.text_out
    await chat.text(people[0].nik)
    assert "Berhasil" in chat.text_out
