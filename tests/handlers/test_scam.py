"""/ceklink and the unasked check: official domains pass, look-alikes and shorteners are flagged."""

from __future__ import annotations

import pytest

from tests.auxil.driver import ChatDriver

OFFICIAL, CAUTION, NOT_OFFICIAL = "✅", "⚠️", "❌"
REMINDER = "tidak pernah meminta kode OTP, PIN, kata sandi, atau pembayaran/transfer"

CASES = [
    ("https://www.prakerja.go.id/", OFFICIAL, "situs resmi Kartu Prakerja"),
    ("prakerja.go.id", OFFICIAL, "situs resmi Kartu Prakerja"),
    ("https://dashboard.prakerja.go.id/masuk", OFFICIAL, "situs resmi Kartu Prakerja"),
    ("HTTPS://WWW.PRAKERJA.GO.ID", OFFICIAL, "situs resmi Kartu Prakerja"),
    ("www.tokopedia.com/kartu-prakerja", OFFICIAL, "situs resmi Tokopedia"),
    ("https://sisnaker.kemnaker.go.id/pelatihan", OFFICIAL, "situs resmi Sisnaker"),
    ("https://www.sekolah.mu/prakerja", OFFICIAL, "situs resmi Sekolahmu"),
    ("http://www.prakerja.go.id", CAUTION, "tanpa <b>https</b>"),
    ("bit.ly/prakerja-gel12", CAUTION, "link pendek"),
    ("https://s.id/daftarprakerja", CAUTION, "link pendek"),
    ("tinyurl.com/abcd", CAUTION, "link pendek"),
    ("prakerja-daftar.xyz", NOT_OFFICIAL, "prakerja-daftar[.]xyz"),
    ("https://prakerja.go.id.evil.com/login", NOT_OFFICIAL, "BUKAN situs resmi, meskipun memuat nama"),
    ("prakerja-go-id.com", NOT_OFFICIAL, "BUKAN situs resmi"),
    ("https://prakerja.go.id@evil.com/", NOT_OFFICIAL, "tujuan sebenarnya adalah evil[.]com"),
    ("https://evil.com\\@prakerja.go.id", NOT_OFFICIAL, "evil[.]com"),
    ("https://xn--prakrja-9wa.go.id", NOT_OFFICIAL, "huruf dari abjad lain"),
    ("https://prakеrja.go.id", NOT_OFFICIAL, "huruf dari abjad lain"),  # a Cyrillic "е"
    ("https://prakerja%2Ego%2Eid.evil.com", NOT_OFFICIAL, "BUKAN situs resmi"),
    ("http://103.28.1.9/prakerja", NOT_OFFICIAL, "BUKAN situs resmi"),
    ("tokopedia.com.promo-prakerja.site", NOT_OFFICIAL, "BUKAN situs resmi"),
    ("www.bukalapak-prakerja.online", NOT_OFFICIAL, "BUKAN situs resmi"),
]


@pytest.mark.parametrize(("link", "mark", "says"), CASES)
async def test_verdict_per_link(chat: ChatDriver, link: str, mark: str, says: str) -> None:
    await chat.command("ceklink", f"Info gelombang baru: {link} buruan daftar!")
    lines = [line for line in chat.text_out.splitlines() if line.startswith((OFFICIAL, CAUTION, NOT_OFFICIAL))]
    assert len(lines) == 1 and lines[0].startswith(mark), lines
    assert says in lines[0]
    assert REMINDER in chat.text_out
    assert ("Hati-hati" in chat.text_out) is (mark != OFFICIAL)
    if mark == NOT_OFFICIAL or "link pendek" in says:
        assert "[.]" in lines[0] and link not in chat.text_out  # the reply does not make the bad link clickable


async def test_forwarded_message_checks_every_link(chat: ChatDriver) -> None:
    await chat.command("menu")
    await chat.press("Cek link")
    assert REMINDER in chat.text_out
    await chat.text("Selamat! Anda lolos. Cek di https://www.prakerja.go.id lalu verifikasi di bit.ly/x9 atau"
                    " prakerja-verifikasi.site, kirim kode OTP ke admin.")
    marks = [mark for line in chat.text_out.splitlines() for mark in (OFFICIAL, CAUTION, NOT_OFFICIAL)
             if line.startswith(mark)]
    assert marks == [OFFICIAL, CAUTION, NOT_OFFICIAL]
    assert "BUKAN situs resmi" in chat.text_out and REMINDER in chat.text_out
    await chat.text("halo")  # the step ended with the check: a greeting gets the greeting and the menu again
    assert "Pesan Anda berisi link" not in chat.text_out and "Hubungkan akun" in chat.labels


async def test_all_official_links_say_so(chat: ChatDriver) -> None:
    await chat.command("ceklink", "https://www.prakerja.go.id dan https://pijarmahir.id/prakerja")
    assert "Semua link menuju situs resmi" in chat.text_out
    assert chat.text_out.count(OFFICIAL) == 2


async def test_no_link_found_says_so_with_the_reminder(chat: ChatDriver) -> None:
    await chat.command("ceklink")
    await chat.text("Bapak/Ibu, mohon kirim kode OTP yang masuk ke HP Anda. Saldo Rp3.550.000 siap cair.")
    assert "tidak menemukan link" in chat.text_out and REMINDER in chat.text_out


async def test_any_text_with_a_link_is_checked_unasked(chat: ChatDriver) -> None:
    await chat.text("min ini beneran? prakerja-gelombang13.xyz/daftar")
    assert "Pesan Anda berisi link" in chat.text_out
    assert "❌" in chat.text_out and REMINDER in chat.text_out


async def test_unasked_check_leaves_plain_text_and_emails_to_the_menu(chat: ChatDriver) -> None:
    await chat.text("saya sudah kirim email ke saya@gmail.com")
    assert chat.replies and "Pesan Anda berisi link" not in chat.text_out


async def test_many_links_are_capped_and_ten_kilobytes_are_fine(chat: ChatDriver) -> None:
    text = " ".join(f"situs{n}.xyz" for n in range(30)) + " " + "x" * 10_000
    await chat.command("ceklink", text)
    assert chat.text_out.count(NOT_OFFICIAL) == 10
    assert "20 link lain tidak diperiksa" in chat.text_out


async def test_link_typed_while_waiting_for_a_training_keyword_is_checked(chat: ChatDriver) -> None:
    await chat.command("pelatihan")
    await chat.text("https://prakerja.go.id@evil.com")
    assert "evil[.]com" in chat.text_out and REMINDER in chat.text_out


async def test_any_link_ending_gets_the_unasked_check(chat) -> None:  # type: ignore[no-untyped-def]
    """The router and /ceklink find links the same way: an unusual ending still gets checked, unasked."""
    await chat.text("Daftar ulang Prakerja di prakerja-daftar.tk sekarang")
    assert "OTP" in chat.text_out
