"""The understanding's data files: the shipped ones load and cover the programme's common questions; a broken file
an admin supplies fails with its file, line, field and what is wrong, and nothing of it is used."""

from __future__ import annotations

import re

import pytest

from handlers.i18n import SUPPORTED_LOCALES
from handlers.understanding import DataError, Intent, Verdict, load, load_faq, shipped, shipped_faq
from handlers.understanding.engine import language_file, shipped_language_files
from handlers.understanding.faq import FACTS_FILE, shipped_files, text_file

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
    assert f"line {_line(files[language_file('id')], '[intents.video')}" in str(caught.value)
    assert language_file("id") in str(caught.value)


def test_an_unknown_intent_names_its_line_and_field() -> None:
    files = _broken(language_file("id"), "[intents.video]", "[intents.vidio]")
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    message = str(caught.value)
    assert f"id/language.toml, line {_line(files[language_file('id')], '[intents.vidio]')}" in message
    assert "intents.vidio" in message and "Input should be" in message


def test_an_example_too_long_names_its_line_and_index() -> None:
    files = _broken(language_file("id"), '  "video perkenalan",', '  "' + "video " * 40 + '",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    message = str(caught.value)
    assert f"line {_line(files[language_file('id')], 'video video video')}" in message
    assert "intents.video.examples[1]" in message and "200 characters" in message


def test_one_phrasing_for_two_intents_is_refused_naming_both() -> None:
    files = _broken(language_file("id"), '  "video perkenalan",', '  "video perkenalan",\n  "cek saldo",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert "'cek saldo' of intent 'balance'" in str(caught.value)


def test_a_particle_that_is_also_a_synonym_is_refused() -> None:
    files = _broken(language_file("id"), '  "kak", "kakak",', '  "kak", "kakak", "saldo",')
    with pytest.raises(DataError) as caught:
        load(files, shipped_faq())
    assert "'saldo' is a particle" in str(caught.value)


def _broken_faq(name: str, old: str, new: str) -> dict[str, str]:
    files = shipped_files()
    assert old in files[name], old
    files[name] = files[name].replace(old, new, 1)
    return files


def test_a_faq_link_off_the_official_sites_is_refused_with_its_line() -> None:
    files = _broken_faq(text_file("id"), 'url = "https://bantuan.prakerja.go.id/"', 'url = "https://prakerja-bantuan.xyz/"')
    with pytest.raises(DataError) as caught:
        load_faq(files)
    message = str(caught.value)
    assert f"id/faq.toml, line {_line(files[text_file('id')], 'prakerja-bantuan.xyz')}" in message
    assert "blocked.links[0].url" in message and "official site" in message


def test_a_faq_entry_without_a_translation_or_without_a_source_is_refused() -> None:
    files = _broken_faq(text_file("en"), "[otp]", "[otp_code]")
    files[FACTS_FILE] = files[FACTS_FILE].replace('id = "refund"\nsource = ', 'id = "refund"\nsourced = ', 1)
    with pytest.raises(DataError) as caught:
        load_faq(files)
    problems = caught.value.problems
    refund = _line(files[FACTS_FILE], 'id = "refund"') - 1  # its [[entry]] header
    assert f"faq.toml, line {refund} (entry[8].source): Field required" in problems, problems
    files[FACTS_FILE] = shipped_files()[FACTS_FILE]
    with pytest.raises(DataError) as caught:
        load_faq(files)
    problems = caught.value.problems
    assert any("en/faq.toml" in p and "'otp'" in p and "no text" in p for p in problems), problems
    assert any("en/faq.toml, line" in p and "otp_code" in p for p in problems), problems


def test_an_imported_faq_replaces_the_shipped_one() -> None:
    files = shipped_files()
    for locale in SUPPORTED_LOCALES:
        files[text_file(locale)] = files[text_file(locale)].replace('"kirim ulang otp",',
                                                                    '"kirim ulang otp",\n  "otp lewat sms",', 1)
    files[text_file("id")] = files[text_file("id")].replace(
        'answer = """Kode OTP untuk masuk', 'answer = """Jawaban baru dari admin. Kode OTP untuk masuk', 1)
    book = load_faq(files)
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
    assert all(re.search(r"\.toml(, line \d+)? \(", p) for p in caught.value.problems), caught.value.problems
