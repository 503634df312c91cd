"""The understanding's data files: the shipped ones load and cover the programme's common questions; a broken file
an admin supplies fails with its file, line, column, field and what is wrong (in Indonesian), and nothing of it is
used."""

from __future__ import annotations

import re
from datetime import date

import pytest

from handlers.i18n import SUPPORTED_LOCALES
from handlers.understanding import DataError, Intent, Verdict, load, load_faq, shipped, shipped_faq
from handlers.understanding.engine import language_file, shipped_language_files
from handlers.understanding.faq import decode, shipped_text

REQUIRED_FAQ = {"about", "register", "reregister", "next_wave", "not_accepted", "incentive", "certificate",
                "purchase_deadline", "refund", "cash_out", "bank_account", "forgot_password", "forgot_email", "otp",
                "change_phone", "blocked"}


def test_the_shipped_faq_answers_every_common_question_with_a_source_and_a_date() -> None:
    book = shipped_faq()
    assert REQUIRED_FAQ <= set(book.entries)
    for entry in book.entries.values():
        assert entry.fact.source and entry.fact.checked, entry.fact.id
        for locale in SUPPORTED_LOCALES:
            text = entry.text(locale)
            assert text.answer and text.links, (entry.fact.id, locale)  # the official place to go next
            assert all(link.url.startswith("https://") for link in text.links)


def test_the_shipped_language_files_cover_every_intent_in_indonesian() -> None:
    indonesian = next(lang for lang in shipped().languages if lang.language == "id")
    assert set(indonesian.intents) == set(Intent)


def _broken(path: str, old: str, new: str) -> dict[str, str]:
    files = shipped_language_files()
    assert old in files[path], old
    files[path] = files[path].replace(old, new, 1)
    return files


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_toml_syntax_error_names_the_line() -> None:
    files = _broken(language_file("id"), "[intents.video]", "[intents.video")
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert f"baris {_line(files[language_file('id')], '[intents.video')}, kolom 15" in str(caught.value)
    assert language_file("id") in str(caught.value)


def test_an_unknown_intent_names_its_line_and_field() -> None:
    files = _broken(language_file("id"), "[intents.video]", "[intents.vidio]")
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    message = str(caught.value)
    assert f"id/language.toml, baris {_line(files[language_file('id')], '[intents.vidio]')}, kolom" in message
    assert "intents.vidio" in message and "Harus salah satu dari: 'result'" in message


def test_an_example_too_long_names_its_line_and_index() -> None:
    files = _broken(language_file("id"), '  "video perkenalan",', '  "' + "video " * 40 + '",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    message = str(caught.value)
    assert f"baris {_line(files[language_file('id')], 'video video video')}, kolom 3" in message
    assert "intents.video.examples[1]" in message and "paling banyak 200 karakter" in message


def test_one_phrasing_for_two_intents_is_refused_naming_both() -> None:
    files = _broken(language_file("id"), '  "video perkenalan",', '  "video perkenalan",\n  "cek saldo",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert "terbaca sama dengan “cek saldo” (balance)" in str(caught.value)


def test_a_particle_that_is_also_a_synonym_is_refused() -> None:
    files = _broken(language_file("id"), '  "kak", "kakak",', '  "kak", "kakak", "saldo",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert "'saldo' is a particle" in str(caught.value)


def _broken_faq(*changes: tuple[str, str]) -> str:
    text = shipped_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _problems(text: str, today: date | None = None) -> list[str]:
    with pytest.raises(DataError) as caught:
        load_faq(text, today=today)
    return caught.value.lines()


def test_a_faq_link_off_the_official_sites_is_refused_with_its_line_and_column() -> None:
    text = _broken_faq(('url = "https://bantuan.prakerja.go.id/"', 'url = "https://prakerja-bantuan.xyz/"'))
    line = _line(text, "prakerja-bantuan.xyz")
    column = text.splitlines()[line - 1].index('"https://prakerja-bantuan') + 1
    assert _problems(text) == [f"faq.toml, baris {line}, kolom {column}: [blocked] text.id.links[0].url: Alamat"
                               " harus di situs resmi (prakerja.go.id, kemnaker.go.id), bukan prakerja-bantuan.xyz."]


def test_a_faq_entry_without_a_translation_or_without_a_source_is_refused() -> None:
    text = _broken_faq(('id = "refund"\nsource = ', 'id = "refund"\nsourced = '),
                       ('[entry.text.en]\ntitle = "OTP', '[entry.text.inggris]\ntitle = "OTP'))
    refund = _line(text, 'id = "refund"') - 1  # its [[entry]] header
    problems = _problems(text)
    assert f"faq.toml, baris {refund}, kolom 1: [refund] source: Wajib diisi." in problems, problems
    assert any(p.startswith(f"faq.toml, baris {refund + 2}, kolom 1: [refund] sourced: Kolom tidak dikenal")
               for p in problems), problems
    assert any("[otp] text.en: Teks English tidak ada: tambahkan bagian [entry.text.en]." in p for p in problems)
    assert any(f"baris {_line(text, '[entry.text.inggris]')}, kolom 1: [otp] text.inggris: Bahasa “inggris” tidak"
               " dikenal" in p for p in problems), problems


def test_every_problem_of_an_faq_is_listed_at_once_with_line_and_column() -> None:
    long_answer = "panjang " * 120
    text = _broken_faq(
        ('id = "forgot_email"', 'id = "about"'),  # a duplicate id
        ('"bikin akun",', '"bikin akun",\n  "Apa itu  Kartu Prakerja?",'),  # another entry's question
        ('checked = 2026-12-06\noffers = ["panduan"]', 'checked = "6 Desember"\noffers = ["panduan"]'),  # a bad date
        ('answer = """Kode OTP', f'answer = """{long_answer}Kode OTP'),  # too long for one screen
        ('source = "https://poskota.co.id/2024/10/11', 'source = "poskota.co.id"\n# "https://poskota.co.id/2024/10/11'),
    )
    problems = _problems(text)
    assert all(re.match(r"faq\.toml, baris \d+, kolom \d+: \[\w+\] ", p) for p in problems), problems
    assert len(problems) == 5, problems

    def said(line: int, what: str) -> bool:
        return any(p.startswith(f"faq.toml, baris {line}, kolom ") and what in p for p in problems)

    first, second = (n for n, written in enumerate(text.splitlines(), 1) if written == 'id = "about"')
    assert said(second, f"[about] id: id “about” sudah dipakai entri di baris {first - 1}")
    assert said(_line(text, "Apa itu  Kartu"), "[register] text.id.questions[7]: Pertanyaan “Apa itu  Kartu Prakerja?”"
                " sudah ada di entri “about”")
    assert said(_line(text, '"6 Desember"'), "[incentive] checked: Tanggal harus ditulis TTTT-BB-HH")
    assert said(_line(text, "panjang panjang"), "[otp] text.id.answer: Terlalu panjang: paling banyak 900 karakter.")
    assert said(_line(text, 'source = "poskota.co.id"'), "[blocked] source: Sumber harus menyebut alamat https")


def test_an_faq_checked_in_the_future_or_not_utf8_is_refused() -> None:
    problems = _problems(shipped_text(), today=date(2026, 1, 1))
    assert problems[0].endswith("[about] checked: Tanggal pemeriksaan 2026-12-06 ada di masa depan."), problems
    with pytest.raises(DataError) as caught:
        decode("pertanyaan umum".encode("utf-16"))
    assert "Bukan teks UTF-8" in str(caught.value)
    with pytest.raises(DataError) as caught:
        load_faq(shipped_text().replace('id = "about"', 'id = "about', 1))
    assert re.match(r"faq\.toml, baris \d+, kolom \d+: Penulisan TOML salah", str(caught.value))


def test_an_imported_faq_replaces_the_shipped_one() -> None:
    text = shipped_text()
    text = text.replace('"kirim ulang otp",', '"kirim ulang otp",\n  "otp lewat sms",', 1)
    text = text.replace('answer = """Kode OTP untuk masuk', 'answer = """Jawaban baru dari admin. Kode OTP untuk masuk',
                        1)
    book = load_faq(text)
    assert book.version != shipped_faq().version
    understanding = shipped().with_faq(book)
    assert understanding.with_faq(book) is understanding  # compiled once per version
    got = understanding.understand("otp lewat sms")
    assert got.verdict is Verdict.ANSWER and got.intent == "faq.otp"
    assert book.entries["otp"].text("id").answer.startswith("Jawaban baru dari admin")


def test_every_problem_of_a_file_is_listed_at_once() -> None:
    files = _broken(language_file("id"), '[intents.video]', '[intents.vidio]')
    files[language_file("en")] = files[language_file("en")].replace('language = "en"', 'language = "fr"', 1)
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert len(caught.value.problems) >= 2
    assert all(re.search(r"\.toml(, baris \d+, kolom \d+)?: ", p) for p in caught.value.lines()), \
        caught.value.lines()
