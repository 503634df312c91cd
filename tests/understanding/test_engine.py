"""What the issue names, word for word: SMS-style Indonesian, typos, greetings, address words, a bare "P", English
mixed in, a search with the words typed, and knowing when it does not know."""

from __future__ import annotations

import pytest

from handlers.freetext import read
from handlers.understanding import Intent, Verdict, shipped


def understood(text: str) -> tuple[str, str]:
    got = read(shipped(), text)
    return got.verdict.value, got.intent


@pytest.mark.parametrize(("text", "intent"), [
    ("sy mau liat hasil sy", Intent.RESULT),  # sy, mau liat
    ("sy lolos gk", Intent.RESULT),  # gk
    ("saldo sy brp", Intent.BALANCE),  # brp
    ("gmn cara daftar", "faq.register"),  # gmn
    ("udh beli pelatihan tp sertifikat blm keluar", "faq.certificate"),  # udh, blm
    ("kpn insentif cair", "faq.incentive"),  # kpn
    ("otp yg dikirim tdk masuk", "faq.otp"),  # yg, tdk
    ("hubungkan akun dgn bot", Intent.LINK_ACCOUNT),  # dgn
    ("ga bisa login lupa pasword", "faq.forgot_password"),  # ga, a typo
    ("insentip kapan cair", "faq.incentive"),  # typos of a letter
    ("sertipikat blm muncul", "faq.certificate"),
    ("vidoe prakerja", Intent.VIDEO),  # two letters swapped
    ("halooo kakak", Intent.GREETING),  # stretched letters, address
    ("P", Intent.GREETING),  # a bare ping
    ("punten", Intent.GREETING),  # regional greetings
    ("sugeng enjing", Intent.GREETING),
    ("horas", Intent.GREETING),
    ("assalamualaikum wr wb", Intent.GREETING),  # Islamic greeting
    ("السلام عليكم", Intent.GREETING),
    ("min kapan gelombang baru dibuka", "faq.next_wave"),  # min as address, no punctuation
    ("gan cara sambungkan ewallet", "faq.bank_account"),
    ("cek balance saya dong", Intent.BALANCE),  # English mixed in
    ("my card number please", Intent.CARD),
    ("how do i reset my password", "faq.forgot_password"),
    ("matur nuwun", Intent.THANKS),
])
def test_colloquial_indonesian_and_english_are_understood(text: str, intent: str) -> None:
    assert understood(text) == ("answer", intent)


def test_a_training_search_takes_the_words_typed_as_its_query() -> None:
    got = read(shipped(), "ada kursus menjahit?")
    assert (got.verdict, got.intent, got.slots["query"]) == (Verdict.ANSWER, Intent.TRAINING_SEARCH, "menjahit")
    got = read(shipped(), "mau belajar bahasa inggris dong kak")
    assert got.slots["query"] == "bahasa inggris"


def test_the_language_asked_for_is_a_slot() -> None:
    assert read(shipped(), "english please").slots["locale"] == "en"
    assert read(shipped(), "i don't speak indonesian").slots["locale"] == "en"
    assert read(shipped(), "pakai bahasa indonesia aja").slots["locale"] == "id"


@pytest.mark.parametrize("text", [
    "resep rendang padang", "besok hujan ga ya", "pinjol cepat cair tanpa bi checking", "jual pulsa all operator",
    "cek saldo gopay saya", "hasil lab saya", "kartu kredit saya diblokir", "kartu indonesia pintar kapan cair",
    "berapa 5 x 5", "kapan?", "asdfgh jkl",
])
def test_out_of_scope_is_never_answered_with_a_capability(text: str) -> None:
    got = read(shipped(), text)
    assert got.verdict is not Verdict.ANSWER, (text, got)


def test_a_message_with_a_link_is_a_link_check() -> None:
    assert understood("min ini beneran? prakerja-gelombang13.xyz/daftar") == ("answer", Intent.LINK_CHECK)


@pytest.mark.parametrize(("text", "intent"), [
    ("kartu prakerja sy dmn liatnya", Intent.CARD),  # an abbreviation with a suffix: "liat" + "nya"
    ("call center prakerja brp", Intent.HUMAN),  # the balance shares only "berapa" and "prakerja": no question
    ("hapus akun sy dr bot", Intent.UNLINK),  # "dr"
    ("misi kak", Intent.GREETING),
    ("aslkm kak", Intent.GREETING),
    ("ooh gitu ya", Intent.ACK),
    ("selamat malam bapak/ibu", Intent.GREETING),  # "ibu" is an address here, not "ibu rumah tangga"
    ("gausah kirim2 pengumuman lg", Intent.STOP),  # "gausah" is "jangan", not a wish to resume
    ("matiin notif", Intent.STOP),
    ("sy karyawan swasta bisa ikut?", Intent.ELIGIBILITY),  # not a search for "karyawan swasta"
])
def test_what_a_fresh_tester_typed_is_answered(text: str, intent: str) -> None:
    assert understood(text) == ("answer", intent)


@pytest.mark.parametrize(("text", "intent"), [
    ("okeoke", Intent.ACK),  # a word written twice without the "2"
    ("gmn cara liat sy lolos ato nggak", Intent.RESULT),  # "ato"
    ("sambungkan ke admin dong", Intent.HUMAN),  # not linking: "admin" is who to talk to
])
def test_what_the_second_and_third_fresh_batches_found(text: str, intent: str) -> None:
    assert understood(text) == ("answer", intent)


@pytest.mark.parametrize(("text", "intent"), [
    ("min??", Intent.GREETING),  # a bare address is a ping, like "P"
    ("kak...", Intent.GREETING),
    ("tes", Intent.GREETING),  # is the bot there?
    ("min bales dong", Intent.GREETING),
    ("udah kak", Intent.ACK),  # "that's all": something friendly, never "not understood"
    ("gajadi", Intent.ACK),
    ("maksudnya?", Intent.HELP),  # confused: what the bot can do
    ("gk ngerti kak", Intent.HELP),
    ("ok thanks", Intent.THANKS),
])
def test_small_talk_a_person_expects_an_answer_to(text: str, intent: str) -> None:
    assert understood(text) == ("answer", intent)
