"""The validator alone (no database): every kind of bad value and bad file gets its line, column and reason."""

from __future__ import annotations

import pytest

from bot.demo import DemoApplicant
from bot.importer import ImportRejected, upload_lines, validate
from handlers.i18n import translator
from tests.importer.conftest import PEPPER, Row, as_row, csv_text


def problems(data: str | bytes) -> list[str]:
    """What the admin reads for this file (Indonesian)."""
    lines = data.splitlines(keepends=True)
    with pytest.raises(ImportRejected) as caught:
        validate(lines, PEPPER)
    return caught.value.lines(translator("id"))


def row_problems(*rows: Row) -> list[str]:
    return problems(csv_text(rows))


@pytest.fixture
def lolos(persons: list[DemoApplicant]) -> DemoApplicant:
    return next(p for p in persons if p.card_number)


@pytest.fixture
def tidak(persons: list[DemoApplicant]) -> DemoApplicant:
    return next(p for p in persons if not p.card_number)


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("phone", "12345", "Nomor HP tidak valid"),
    ("phone", "0812-abc", "Nomor HP tidak valid"),
    ("phone", "", "Wajib diisi."),
    ("nik", "", "Wajib diisi."),
    ("nik", "99{rest}", "Kode provinsi di NIK tidak dikenal. Periksa digit ke-1 dan ke-2."),
    ("nik", "{head}x{tail}", "NIK hanya berisi angka. Periksa digit ke-6."),
    ("nik", "{short}", "NIK terdiri dari 16 digit, yang tertulis baru 10 digit."),
    ("nik", "{nik}1", "lebih panjang"),
    ("nik", "3.17101E+15", "angka ilmiah"),
    ("name", "", "Wajib diisi."),
    ("name", "x" * 101, "Nama paling banyak 100 karakter."),
    ("name", "Budi\x07", "karakter kontrol"),
    ("wave", "0", "Gelombang harus bilangan bulat dari 1 sampai 9999."),
    ("wave", "1.5", "Gelombang harus bilangan bulat"),
    ("wave", "satu", "Gelombang harus bilangan bulat"),
    ("wave", "10000", "Gelombang harus bilangan bulat"),
    ("result", "lulus", "Hasil harus “lolos”, “tidak_lolos”, atau kosong"),
    ("card_number", "", "Nomor kartu wajib diisi untuk hasil lolos."),
    ("card_number", "5123", "Nomor kartu harus 16 digit angka."),
    ("card_number", "51234567890123ab", "Nomor kartu harus 16 digit angka."),
    ("balance", "3550000.00", "tanpa desimal"),
    ("balance", "3550000,5", "tanpa desimal"),
    ("balance", "-100", "Saldo tidak boleh negatif."),
    ("balance", "Rp3.550.000", "angka saja"),
    ("balance", "3.550.000", "angka saja"),
    ("balance", "99999999999", "Saldo terlalu besar"),
])
def test_bad_value_names_line_column_and_reason(lolos: DemoApplicant, tidak: DemoApplicant, column: str, value: str,
                                                reason: str) -> None:
    value = value.format(rest=lolos.nik[2:], head=lolos.nik[:5], tail=lolos.nik[6:], short=lolos.nik[:10],
                         nik=lolos.nik)
    found = row_problems(as_row(tidak), as_row(lolos, **{column: value}))
    assert len(found) == 1, found
    assert found[0].startswith(f"baris 3, kolom {column}: ")
    assert reason in found[0]
    assert lolos.nik not in found[0] and lolos.nik[:12] not in found[0]  # the NIK is never echoed


@pytest.mark.parametrize(("column", "value"), [("card_number", "5123456789012345"), ("balance", "3550000")])
def test_card_and_balance_only_on_lolos_rows(tidak: DemoApplicant, column: str, value: str) -> None:
    (found,) = row_problems(as_row(tidak, **{column: value}))
    assert found.startswith(f"baris 2, kolom {column}: ") and "hanya diisi untuk hasil lolos" in found


def test_lolos_balance_is_optional_and_values_are_tolerant(lolos: DemoApplicant) -> None:
    text = csv_text([as_row(lolos, balance="", result=" LOLOS ", card_number="5123 4567 8901 2345", name=" Siti ")])
    assert validate(text.splitlines(keepends=True), PEPPER) == 1


def test_same_nik_twice_in_one_wave(lolos: DemoApplicant) -> None:
    assert row_problems(as_row(lolos), as_row(lolos)) == [
        f"baris 3, kolom nik: NIK yang sama sudah ada untuk gelombang {lolos.wave} di baris 2.",
        "baris 3, kolom result: NIK yang sama sudah lolos di baris 2. Peserta hanya dapat lolos sekali.",
    ]


def test_rows_of_one_nik_agree_on_phone_and_name(tidak: DemoApplicant) -> None:
    found = row_problems(as_row(tidak, wave=1), as_row(tidak, wave=2, phone="+6281399999999", name="Lain"))
    assert found == ["baris 3, kolom phone: Berbeda dengan baris 2 untuk NIK yang sama.",
                     "baris 3, kolom name: Berbeda dengan baris 2 untuk NIK yang sama."]


def test_same_card_on_two_niks(persons: list[DemoApplicant]) -> None:
    a, b = [p for p in persons if p.card_number][:2]
    assert row_problems(as_row(a), as_row(b, card_number=a.card_number)) == [
        "baris 3, kolom card_number: Nomor kartu yang sama sudah dipakai NIK lain di baris 2."]


def test_wrong_header_names_the_column() -> None:
    found = problems("nik,hp,name,wave,result,card_number,balance\n")
    assert found == ["baris 1: Kolom ke-2 header seharusnya “phone”. Header yang benar: "
                     "nik,phone,name,wave,result,card_number,balance"]


def test_header_with_semicolons_missing_or_short(lolos: DemoApplicant) -> None:
    assert "bukan titik koma" in problems("nik;phone;name;wave;result;card_number;balance\n")[0]
    data_first = csv_text([as_row(lolos)]).split("\n", 1)[1]
    (found,) = problems(data_first)
    assert found.startswith("baris 1: Header tidak ada") and lolos.nik not in found
    assert problems("nik,phone,name\n")[0].startswith("baris 1: Baris pertama harus header persis")


def test_empty_file_and_header_only() -> None:
    assert problems("") == ["File kosong: tidak ada header maupun data."]
    assert problems("nik,phone,name,wave,result,card_number,balance\n\n") == [
        "File hanya berisi header: tidak ada baris data."]


def test_field_count_broken_quotes_and_blank_lines(lolos: DemoApplicant, tidak: DemoApplicant) -> None:
    text = csv_text([as_row(tidak)]) + "\n" + ",".join(str(v) for v in as_row(lolos)) + ",extra\n" + 'a,"b"c\n'
    assert problems(text) == ["baris 4: Ada 8 kolom, seharusnya 7.",
                              "baris 5: Format CSV rusak (periksa tanda kutip)."]


def test_bom_crlf_and_bytes_are_read(persons: list[DemoApplicant]) -> None:
    data = b"\xef\xbb\xbf" + csv_text([as_row(p) for p in persons]).replace("\n", "\r\n").encode()
    assert validate(upload_lines(data), PEPPER) == len(persons)


def test_not_utf8_and_binary_junk(persons: list[DemoApplicant]) -> None:
    text = csv_text([as_row(p) for p in persons[:2]]).encode()
    latin1 = text + "3171010101900001,081234567890,José,1,,,\n".encode("latin-1")
    assert problems(latin1) == ["baris 4: Bukan teks UTF-8. Simpan file sebagai “CSV UTF-8”."]
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    assert problems(png) == ["baris 1: Bukan teks UTF-8. Simpan file sebagai “CSV UTF-8”."]
    assert problems(text + b"\x00\x00\x00\n") == ["baris 4: Berisi karakter biner: ini bukan file CSV teks."]


@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "0212345678", "+62 21 2345678", "+6591234567"])
def test_only_indonesian_mobile_numbers(tidak: DemoApplicant, phone: str) -> None:
    """A landline or a foreign number can never be the number a chat shares: it would be an account no one links."""
    for lines in (csv_text([as_row(tidak, phone=phone)]).splitlines(keepends=True),
                  upload_lines(csv_text([as_row(tidak, phone=phone)]).encode())):  # both readers
        with pytest.raises(ImportRejected) as caught:
            validate(lines, PEPPER)
        assert caught.value.lines(translator("id")) == [
            "baris 2, kolom phone: Harus nomor HP Indonesia (seluler, +628…), bukan nomor telepon rumah atau nomor"
            " luar negeri."]


def test_a_nik_twice_in_a_wave_is_reported_with_the_other_problems(persons: list[DemoApplicant]) -> None:
    """One pass lists everything: the duplicate is found whether the first, the second, or neither row is bad."""
    a, b, c = [p for p in persons if not p.card_number][:3]
    found = row_problems(as_row(a, phone="12345"), as_row(b), as_row(a),  # bad first row, good duplicate
                         as_row(b, name=""),  # good first row, bad duplicate
                         as_row(c, wave=9, balance="1"), as_row(c, wave=9, card_number="1"))  # both bad
    assert found == [
        "baris 2, kolom phone: Nomor HP tidak valid (contoh yang benar: 081234567890 atau +6281234567890).",
        f"baris 4, kolom nik: NIK yang sama sudah ada untuk gelombang {a.wave} di baris 2.",
        "baris 5, kolom name: Wajib diisi.",
        f"baris 5, kolom nik: NIK yang sama sudah ada untuk gelombang {b.wave} di baris 3.",
        "baris 6, kolom balance: Saldo hanya diisi untuk hasil lolos.",
        "baris 7, kolom card_number: Nomor kartu hanya diisi untuk hasil lolos.",
        "baris 7, kolom nik: NIK yang sama sudah ada untuk gelombang 9 di baris 6.",
    ]
    with pytest.raises(ImportRejected) as caught:  # the whole-file reader of a CLI import or an upload says the same
        validate(upload_lines(csv_text([as_row(a, phone="12345"), as_row(b), as_row(a)]).encode()), PEPPER)
    assert caught.value.lines(translator("id")) == found[:2]
