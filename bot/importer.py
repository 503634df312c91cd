"""Registry import: a CSV of accounts and wave results, validated as it streams, imported all or nothing.

Format (UTF-8, optional BOM, comma-separated), one row per account per wave::

    nik,phone,name,wave,result,card_number,balance
    3171234507900001,0812-3456-7890,Siti Rahmawati,1,lolos,5123456789012345,3550000
    3171234507900001,0812-3456-7890,Siti Rahmawati,2,,,
    3271010101900002,+62 813 1111 2222,Budi Santoso,1,tidak_lolos,,

- nik: 16 digits of a valid shape (`handlers.identity.check_nik`); hashed with NIK_PEPPER at once and never kept.
- phone: any Indonesian form (0812…, 62812…, +62 812-…), stored as E.164.
- name: not empty, at most 100 characters. wave: a whole number from 1 to 9999.
- result: `lolos`, `tidak_lolos`, or empty while the wave is not announced.
- card_number (16 digits) is required on a lolos row; balance (whole rupiah, digits only, e.g. 3550000) is optional
  there (empty keeps the balance already known). Both must be empty on any other row.
- Across the file: a NIK at most once per wave and lolos at most once (a participant cannot register again);
  the rows of one NIK agree on phone and name; a card number belongs to one NIK (here and in the database).

Any bad row rejects the whole file: every problem is listed with its line and column (the first 50, then a count),
in Indonesian, for the CLI and for an admin uploading the file to the bot. Problems name the column, never the NIK.
Re-importing updates accounts by NIK hash and never duplicates; the counts say what was new, updated, unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phonenumbers import PhoneMetadata

from bot.demo import applicants
from bot.settings import Settings
from handlers.admin.shared import example_date
from handlers.digits import is_digits, parse_int
from handlers.i18n import N_, Translator, translator
from handlers.identity import NIK_LENGTH, NikProblem, PhoneError, check_nik, normalize_phone
from storage import ImportConflict, ImportRow, Storage, open_storage
from storage.models import ImportCounts, WaveResult

log = logging.getLogger(__name__)

HEADER = ("nik", "phone", "name", "wave", "result", "card_number", "balance")
NIK, PHONE, NAME, WAVE, RESULT, CARD, BALANCE = HEADER
MAX_LISTED = 50  # problems listed in full; the rest are counted
MAX_NAME_LENGTH = 100
MAX_WAVE = 9_999
MAX_BALANCE = 1_000_000_000  # rupiah; a programme balance is a few million
CARD_LENGTH = 16
PROGRESS_EVERY_ROWS = 10_000  # how often the validator reports progress
PROGRESS_EVERY_SECONDS = 2.0  # how often the CLI prints it (a small file prints nothing)
RESULTS = {"lolos": WaveResult.LOLOS, "tidak_lolos": WaveResult.TIDAK_LOLOS, "": None}


# --- problems ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the file. `message` is an Indonesian msgid filled with `params` when shown."""

    line: int  # 0: the file as a whole
    column: str | None
    message: str
    params: tuple[tuple[str, object], ...] = ()

    def text(self, t: Translator) -> str:
        problem = t.gettext(self.message).format(**dict(self.params))
        if self.line == 0:
            return problem
        if self.column is None:
            return t.gettext("baris {line}: {problem}").format(line=self.line, problem=problem)
        return t.gettext("baris {line}, kolom {column}: {problem}").format(
            line=self.line, column=self.column, problem=problem
        )


class ImportRejected(Exception):
    """The file was refused: nothing was imported. `problems` holds the first MAX_LISTED, `total` counts all."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        super().__init__(f"import refused: {total} problem(s)")
        self.problems = problems
        self.total = total

    def lines(self, t: Translator) -> list[str]:
        lines = [p.text(t) for p in self.problems]
        more = self.total - len(self.problems)
        if more > 0:
            lines.append(t.ngettext("… dan {n} kesalahan lain", "… dan {n} kesalahan lain", more).format(n=more))
        return lines


_HEADER_WRONG = N_("Baris pertama harus header persis seperti ini: {header}")
_HEADER_COLUMN = N_("Kolom ke-{n} header seharusnya “{expected}”. Header yang benar: {header}")
_HEADER_MISSING = N_("Header tidak ada: baris pertama harus {header}")
_HEADER_SEMICOLON = N_("Pemisah kolom harus koma (,), bukan titik koma (;). Header yang benar: {header}")
_EMPTY_FILE = N_("File kosong: tidak ada header maupun data.")
_NO_ROWS = N_("File hanya berisi header: tidak ada baris data.")
_NOT_UTF8 = N_("Bukan teks UTF-8. Simpan file sebagai “CSV UTF-8”.")
_BINARY = N_("Berisi karakter biner: ini bukan file CSV teks.")
_BAD_CSV = N_("Format CSV rusak (periksa tanda kutip).")
_FIELD_COUNT = N_("Ada {found} kolom, seharusnya {expected}.")
_REQUIRED = N_("Wajib diisi.")
_NIK_SCIENTIFIC = N_("NIK tertulis sebagai angka ilmiah (mis. 3,17E+15). Simpan kolom nik sebagai teks.")
_NIK_SHORT = N_("NIK terdiri dari 16 digit, yang tertulis baru {n} digit.")
_NIK_LONG = N_("NIK terdiri dari 16 digit, yang tertulis lebih panjang.")
# The same wording as the link flow (handlers/link.py): one translation serves both.
_NIK_PROBLEMS = {
    NikProblem.NOT_DIGITS: N_("NIK hanya berisi angka. Periksa digit ke-{n}."),
    NikProblem.PROVINCE: N_("Kode provinsi di NIK tidak dikenal. Periksa digit ke-1 dan ke-2."),
    NikProblem.REGENCY: N_("Kode kabupaten/kota di NIK tidak valid. Periksa digit ke-3 dan ke-4."),
    NikProblem.DISTRICT: N_("Kode kecamatan di NIK tidak valid. Periksa digit ke-5 dan ke-6."),
    NikProblem.BIRTH_DAY: N_("Tanggal lahir di NIK tidak valid. Periksa digit ke-7 dan ke-8."),
    NikProblem.BIRTH_MONTH: N_("Bulan lahir di NIK tidak valid. Periksa digit ke-9 dan ke-10."),
    NikProblem.SERIAL: N_("Nomor urut di NIK tidak valid. Periksa digit ke-13 sampai ke-16."),
    NikProblem.TOO_SHORT: _NIK_SHORT,
    NikProblem.TOO_LONG: _NIK_LONG,
    NikProblem.EMPTY: _REQUIRED,
}
_PHONE_BAD = N_("Nomor HP tidak valid (contoh yang benar: 081234567890 atau +6281234567890).")
_PHONE_NOT_MOBILE = N_("Harus nomor HP Indonesia (seluler, +628…), bukan nomor telepon rumah atau nomor luar negeri.")
_NAME_LONG = N_("Nama paling banyak {n} karakter.")
_NAME_UNPRINTABLE = N_("Nama berisi karakter kontrol.")
WAVE_BAD = N_("Gelombang harus bilangan bulat dari 1 sampai {max}.")
_RESULT_BAD = N_("Hasil harus “lolos”, “tidak_lolos”, atau kosong (belum diumumkan).")
_CARD_REQUIRED = N_("Nomor kartu wajib diisi untuk hasil lolos.")
_CARD_BAD = N_("Nomor kartu harus {n} digit angka.")
_CARD_NOT_LOLOS = N_("Nomor kartu hanya diisi untuk hasil lolos.")
_CARD_TWICE = N_("Nomor kartu yang sama sudah dipakai NIK lain di baris {other}.")
_CARD_TAKEN = N_("Nomor kartu ini sudah terdaftar untuk akun lain di basis data.")
_BALANCE_DECIMAL = N_("Saldo dalam rupiah bulat, tanpa desimal (mis. 3550000).")
_BALANCE_NEGATIVE = N_("Saldo tidak boleh negatif.")
_BALANCE_FORMAT = N_("Saldo ditulis angka saja, tanpa Rp, titik, atau spasi (mis. 3550000).")
_BALANCE_LARGE = N_("Saldo terlalu besar (paling banyak {max}).")
_BALANCE_NOT_LOLOS = N_("Saldo hanya diisi untuk hasil lolos.")
_NIK_WAVE_TWICE = N_("NIK yang sama sudah ada untuk gelombang {wave} di baris {other}.")
_LOLOS_TWICE = N_("NIK yang sama sudah lolos di baris {other}. Peserta hanya dapat lolos sekali.")
_DIFFERS = N_("Berbeda dengan baris {other} untuk NIK yang sama.")


def _header_problem(fields: list[str]) -> Problem:
    header = ",".join(HEADER)
    if len(fields) == 1 and ";" in fields[0]:
        return Problem(1, None, _HEADER_SEMICOLON, (("header", header),))
    if fields and check_nik(fields[0]).ok:
        return Problem(1, None, _HEADER_MISSING, (("header", header),))  # a data row first: the header is missing
    for n, (found, expected) in enumerate(zip(fields, HEADER, strict=False), start=1):
        if found.strip().lower() != expected:
            return Problem(1, None, _HEADER_COLUMN, (("n", n), ("expected", expected), ("header", header)))
    return Problem(1, None, _HEADER_WRONG, (("header", header),))  # too few or too many columns


# --- fast paths, each proven equal to the rule it speeds up (tests/importer/test_fast_paths.py) --------------------

class NikHasher:
    """`handlers.identity.hash_nik` (HMAC-SHA256) with the pepper's pads hashed once: twice as fast per NIK."""

    _BLOCK = 64  # SHA-256 block size

    def __init__(self, pepper: str) -> None:
        key = pepper.encode()
        if len(key) > self._BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.pads = (self._inner, self._outer)  # for a loop that inlines `digest`: copy each, never update them

    def digest(self, nik: str) -> bytes:
        inner = self._inner.copy()
        inner.update(nik.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _segment_values(start: int, stop: int) -> frozenset[str]:
    """The values of NIK digits [start, stop) that `check_nik` accepts, found by asking it (the rules per segment
    are independent), so the fast check below can never disagree with it."""
    base = "3171010101900001"  # a valid shape
    width = stop - start
    values = (f"{n:0{width}d}" for n in range(10**width))
    return frozenset(v for v in values if check_nik(base[:start] + v + base[stop:]).ok)


_NIK_SEGMENTS = tuple((start, stop, _segment_values(start, stop)) for start, stop in ((0, 2), (2, 4), (4, 6), (6, 10)))
_SERIAL_START = 12  # digits 13-16: the serial number
_NIK_SERIALS_OK = _segment_values(_SERIAL_START, NIK_LENGTH)


def fast_nik(text: str) -> str | None:
    """The NIK when `text` is exactly 16 ASCII digits of a valid shape; None means "ask check_nik"."""
    if len(text) != NIK_LENGTH or not is_digits(text):
        return None
    if text[_SERIAL_START:] not in _NIK_SERIALS_OK:
        return None
    for start, stop, valid in _NIK_SEGMENTS:
        if text[start:stop] not in valid:
            return None
    return text


def _mobile_regex(end: str = r"\Z", char: str = ".") -> str:
    """Indonesian mobile numbers by phonenumbers' own metadata: a match is a number `normalize_phone` accepts.
    `end` is what follows the number (the end of the text, or the next CSV field), `char` any character of it."""
    metadata = PhoneMetadata.metadata_for_region("ID")
    assert metadata is not None and metadata.mobile is not None and metadata.general_desc is not None
    mobile, general = metadata.mobile, metadata.general_desc
    lengths = sorted(set(mobile.possible_length) & set(general.possible_length or mobile.possible_length))
    if lengths == list(range(lengths[0], lengths[-1] + 1)):
        length = f"{char}{{{lengths[0]},{lengths[-1]}}}"  # one run of lengths: one quantifier, no alternatives
    else:
        length = "|".join(f"{char}{{{n}}}" for n in lengths)
    return (
        rf"(?:\+62|62|0)(?=(?:{length}){end})(?=(?:{general.national_number_pattern}){end})"
        rf"({mobile.national_number_pattern})"
    )


_MOBILE = re.compile(_mobile_regex())


class NotMobile(PhoneError):
    """A real phone number, but not an Indonesian mobile one (a landline, another country): no chat can share it."""


def fast_phone(text: str) -> str:
    """E.164 of an Indonesian mobile number (the only numbers a Telegram or WhatsApp account shares with the bot):
    without separators here; anything else is read by phonenumbers, then held to the same rule."""
    match = _MOBILE.fullmatch(text)
    if match:
        return "+62" + match.group(1)
    phone = normalize_phone(text)  # PhoneError: not a phone number at all
    if _MOBILE.fullmatch(phone) is None:
        raise NotMobile(phone)
    return phone


def _digits_regex(values: frozenset[str]) -> str:
    """A regex matching exactly `values` (digit strings of one length), as a trie: each branch is chosen by its
    first digit, so the engine never backtracks far."""
    width = len(next(iter(values)))
    if len(values) == 10**width:
        return f"[0-9]{{{width}}}"
    if width == 1:
        return "[" + "".join(sorted(values)) + "]"
    tails: dict[str, set[str]] = {}
    for value in values:
        tails.setdefault(value[0], set()).add(value[1:])
    firsts_by_tail: dict[frozenset[str], list[str]] = {}
    for first, tail in sorted(tails.items()):
        firsts_by_tail.setdefault(frozenset(tail), []).append(first)
    branches = [
        (firsts[0] if len(firsts) == 1 else "[" + "".join(firsts) + "]") + _digits_regex(tail)
        for tail, firsts in firsts_by_tail.items()
    ]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _plain_row_regex() -> re.Pattern[str]:
    """One line of a file without quotes: a data row that passes every check of `Validator._row` as written
    (groups: nik, the phone's national number, name, wave, "lolos", card, balance, "tidak_lolos"), or else any
    line (the last group), which `_row` then judges. Each group is the field `_row` would keep, already clean:
    the NIK as `fast_nik` accepts it, a mobile number as `fast_phone` takes it, an ASCII name without outer
    spaces, a wave 1..MAX_WAVE, digits within MAX_BALANCE, lower-case results."""
    nik = "".join(_digits_regex(valid) for _, _, valid in _NIK_SEGMENTS)
    nik += f"[0-9]{{{_SERIAL_START - _NIK_SEGMENTS[-1][1]}}}" + _digits_regex(_NIK_SERIALS_OK)  # digits not checked
    printable, inner = r"[!-+\--~]", r"[ -+\--~]"  # ASCII printable but the comma; inside, the space too
    name = f"{printable}(?:{inner}{{0,{MAX_NAME_LENGTH - 2}}}{printable})?"
    assert str(MAX_WAVE) == "9" * len(str(MAX_WAVE))  # "any number of so many digits" is the whole range
    wave = f"[1-9][0-9]{{0,{len(str(MAX_WAVE)) - 1}}}"
    balance = f"[0-9]{{1,{len(str(MAX_BALANCE)) - 1}}}"  # fewer digits than MAX_BALANCE: never above it
    phone = _mobile_regex(end=",", char=r"[^,\n]")
    return re.compile(
        rf"({nik}),{phone},({name}),({wave}),"
        rf"(?:(lolos),([0-9]{{{CARD_LENGTH}}}),({balance})?|(tidak_lolos)?,,)\n|([^\n]*)\n",
        re.ASCII,
    )


_PLAIN_ROW = _plain_row_regex()


def plain_text(data: bytes) -> str | None:
    """The file as text when each line is one CSV record split by commas alone, so `_PLAIN_ROW` may read it: UTF-8,
    no quote, no NUL, no carriage return but in CRLF line ends (the BOM and CRLF are dropped; lines stay lines).
    None: the file needs the csv module (or has problems it reports line by line)."""
    if not data or b'"' in data or b"\0" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    text = text.removeprefix("\ufeff")
    return text if text.endswith("\n") else text + "\n"


# --- validation ----------------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-]")
_DECIMAL = re.compile(r"\d+[.,]\d{1,2}")
_MASK64 = (1 << 64) - 1
_LINE_BITS = 0xFFFF_FFFF
_OFFSET_SHIFT = 32  # a first row in a plain file: line | offset of the line in the text << 32


@dataclass(slots=True)
class _Repeated:
    """What the rows of a NIK seen more than once have said so far."""

    first_line: int
    phone: int
    name: int
    waves: dict[int, int] = field(default_factory=dict)  # wave -> line
    lolos_line: int | None = None


def _pack(line: int, wave: int, lolos: bool, phone: str, name: str) -> int:
    """A NIK's first row in one int, so a million NIKs fit in little memory: line (32 bits), wave (14 bits),
    lolos (1 bit), the phone's digits (50 bits: E.164 has at most 15), a 64-bit hash of the name."""
    return line | wave << 32 | lolos << 46 | int(phone[1:]) << 47 | (hash(name) & _MASK64) << 97


def _unpack(packed: int) -> _Repeated:
    line, wave, lolos = packed & _LINE_BITS, packed >> 32 & 0x3FFF, bool(packed >> 46 & 1)
    return _Repeated(line, packed >> 47 & ((1 << 50) - 1), packed >> 97, {wave: line}, line if lolos else None)


def _no_waves(digest: bytes) -> dict[int, int]:
    return {}


_Columns = tuple[list[bytes], list[str], list[str], list[int], list[int], list[str | None], list[int | None],
                 list[int], list[tuple[int, int, str]], list[int]]
_RESULT_CODES = (None, WaveResult.LOLOS, WaveResult.TIDAK_LOLOS)
_SPAN_CHARS = 2_000_000  # characters of a plain file per span checked at once (~30,000 lines)
# The text and the HMAC pads, for the worker processes forked by `Validator._checked_lines` (they inherit it).
_FORKED: tuple[str, tuple[Any, Any]] | None = None


def _check_span(span: tuple[int, int, int], shared: tuple[str, tuple[Any, Any]] | None = None) -> _Columns:
    """The lines of text[start:stop], the first numbered `line`, as columns (cheap to send between processes): of
    the good rows, their fields (the NIK hashed; the result as an index into `_RESULT_CODES`); the lines
    `Validator._row` must judge, as (position among all lines, line, text); and where each line starts. Runs in a
    worker process (`shared` None: `_FORKED`) or in the validator's own."""
    forked = shared or _FORKED
    assert forked is not None, "a worker runs only while the validator has set _FORKED"
    text, (inner_pad, outer_pad) = forked
    start, stop, first = span
    digests: list[bytes] = []
    phones: list[str] = []
    names: list[str] = []
    waves: list[int] = []
    results: list[int] = []
    cards: list[str | None] = []
    balances: list[int | None] = []
    lines: list[int] = []
    others: list[tuple[int, int, str]] = []
    starts: list[int] = []
    for line, match in enumerate(_PLAIN_ROW.finditer(text, start, stop), start=first):
        nik, national, name, wave_text, lolos, card, balance, other, unmatched = match.groups()
        starts.append(match.start())
        if unmatched is not None:
            others.append((len(starts) - 1, line, unmatched))
            continue
        inner = inner_pad.copy()  # NikHasher.digest, inline: this loop runs a million times
        inner.update(nik.encode())
        outer = outer_pad.copy()
        outer.update(inner.digest())
        digests.append(outer.digest())
        phones.append("+62" + national)
        names.append(name)
        waves.append(int(wave_text))
        results.append(1 if lolos else 2 if other else 0)
        cards.append(card)
        balances.append(int(balance) if balance else None)
        lines.append(line)
    return digests, phones, names, waves, results, cards, balances, lines, others, starts


def _span_items(columns: _Columns) -> tuple[list[object], list[int]]:
    """`_check_span`'s columns as the lines in order: each an `ImportRow` or (line, text); and their starts."""
    digests, phones, names, waves, codes, cards, balances, lines, others, starts = columns
    results = map(_RESULT_CODES.__getitem__, codes)
    new_row, import_row = tuple.__new__, ImportRow
    items: list[object] = [new_row(import_row, row) for row in zip(
        digests, phones, names, waves, results, cards, balances, lines, strict=True)]
    for position, line, text in others:  # in order: each goes where it was among the lines
        items.insert(position, (line, text))
    return items, starts


class Validator:
    """Checks a CSV as it streams and yields the good rows; raises `ImportRejected` at the end if any was bad.

    Pure: no database, no I/O beyond the lines given (str or bytes, e.g. a file opened in binary mode or an upload).
    Memory grows with the number of distinct NIKs and lolos cards (for the checks across rows), not with the rows.
    """

    def __init__(self, pepper: str, progress: Callable[[int, bool], None] | None = None,
                 processes: int = 1) -> None:
        """`processes`: how many processes check a large plain file (`_checked_lines`); 1: this one alone."""
        self._hasher = NikHasher(pepper)
        self.processes = processes
        self._progress = progress
        self.problems: list[Problem] = []
        self.total_problems = 0
        self.rows = 0  # data rows read
        # NIK hash -> wave -> line, of rows with other problems: a NIK twice in a wave is reported in the same pass,
        # whichever of the two rows is bad (`_bad_row`)
        self._bad_waves: dict[bytes, dict[int, int]] = {}
        self._good_waves: Callable[[bytes], dict[int, int]] = _no_waves

    def _problem(self, line: int, column: str | None, message: str, **params: object) -> None:
        self.total_problems += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(line, column, message, tuple(params.items())))

    def _reject(self) -> ImportRejected:
        return ImportRejected(self.problems, self.total_problems)

    def _text(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        """Decode line by line, so a bad byte is reported with its line and the rest is still checked."""
        for number, line in enumerate(lines, start=1):
            if isinstance(line, bytes):
                raw = line
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self._problem(number, None, _NOT_UTF8)
                    line = raw.decode("utf-8", errors="replace")
            if number == 1:
                line = line.removeprefix("\ufeff")
            if "\x00" in line:
                self._problem(number, None, _BINARY)
                line = line.replace("\x00", "")
            yield line

    def validate(self, lines: Iterable[str] | Iterable[bytes]) -> Iterator[ImportRow]:
        """The good rows, in file order. A binary file (or an upload's BytesIO) is read whole: when it is plain
        (`plain_text`), each line is matched by one regex, else it is read, like any other iterable, by the csv
        module. Both say the same of every file (tests/importer/test_fast_paths.py)."""
        if isinstance(lines, io.BufferedIOBase | io.RawIOBase):
            data = lines.read()
            text = plain_text(data)
            if text is not None:
                return self._validate_plain(text)
            lines = io.BytesIO(data)
        return self._validate_csv(lines)

    def _validate_plain(self, text: str) -> Iterator[ImportRow]:
        header_end = text.index("\n")
        header = self._header(iter([text[:header_end].split(",") if header_end else []]))  # csv: [] if blank
        if header is not None:
            raise header
        # NIK hash -> its first row's line and where that line starts: its fields are read again, should the NIK
        # come back (`_first_row`), rather than kept for every NIK
        seen: dict[bytes, int] = {}
        cards: dict[str, int] = {}  # card number -> line
        accept = self._accepter(cards, seen, lambda first: self._first_row(text, first))
        bad = self._bad_waves
        progress, every = self._progress, PROGRESS_EVERY_ROWS
        import_row, line_bits, offset_shift = ImportRow, _LINE_BITS, _OFFSET_SHIFT
        rows = 0
        for items, starts in self._checked_lines(text, header_end + 1):
            for item, start in zip(items, starts, strict=True):
                if type(item) is import_row:  # a good row: only the checks across rows are left
                    rows += 1
                    if progress is not None and rows % every == 0:
                        self.rows = rows
                        progress(rows, False)
                    row: ImportRow = item
                    line, digest = row.line, row.nik_hash
                    first = seen.setdefault(digest, line | start << offset_shift)
                    if (first & line_bits) == line and row.card_number is None and not bad:
                        yield row  # the NIK's first row, no card, no bad row before: nothing to compare with
                        continue
                else:
                    # the other kind of item `_checked_lines` yields: (line, text) for `_row` to judge
                    pair: tuple[int, str] = item  # type: ignore[assignment]
                    line, unmatched = pair
                    fields = unmatched.split(",")  # no quotes anywhere: exactly what the csv module reads
                    if fields == [""]:
                        continue  # a blank line
                    rows += 1
                    if progress is not None and rows % every == 0:
                        self.rows = rows
                        progress(rows, False)
                    checked = self._row(line, fields)
                    if checked is None:
                        continue
                    digest, row = checked
                    first = seen.setdefault(digest, line | start << offset_shift)
                if accept(line, digest, row, None if (first & line_bits) == line else self._first_row(text, first)):
                    yield row
        self.rows = rows
        self._finish()

    def _checked_lines(self, text: str, begin: int) -> Iterator[tuple[list[object], list[int]]]:
        """The lines from `begin` in order, in spans of about `_SPAN_CHARS`, each line a good row (its NIK hashed)
        or (line, text) for `_row` to judge (`_check_span`). With `processes` > 1 and a large file, forked worker
        processes check the spans while this one goes on with the rows of the spans before (`fork`: the workers
        share the text without copying it; only the checked rows come back)."""
        spans, end, line = [], len(text), 2
        while begin < end:
            stop = text.find("\n", min(begin + _SPAN_CHARS, end) - 1) + 1 or end
            spans.append((begin, stop, line))
            line += text.count("\n", begin, stop)
            begin = stop
        if self.processes > 1 and len(spans) > 1 and "fork" in multiprocessing.get_all_start_methods():
            global _FORKED
            _FORKED = (text, self._hasher.pads)
            try:
                with multiprocessing.get_context("fork").Pool(self.processes) as pool:
                    for columns in pool.imap(_check_span, spans):
                        yield _span_items(columns)
            finally:
                _FORKED = None
        else:
            for span in spans:
                yield _span_items(_check_span(span, (text, self._hasher.pads)))

    def _first_row(self, text: str, first: int) -> int:
        """The first row of a NIK seen again, packed (`_pack`): its line read again from the text. It was good, so
        it matches `_PLAIN_ROW` as then or `_row` finds it good again (and records no problem)."""
        line, offset = first & _LINE_BITS, first >> _OFFSET_SHIFT
        match = _PLAIN_ROW.match(text, offset)
        assert match is not None  # the last alternative matches any line
        _, national, name, wave_text, lolos, _, _, _, unmatched = match.groups()
        if unmatched is None:
            return _pack(line, int(wave_text), lolos is not None, "+62" + national, name)
        checked = self._row(line, unmatched.split(","))
        assert checked is not None
        row = checked[1]
        return _pack(line, row.wave, row.result is WaveResult.LOLOS, row.phone, row.name)

    def _validate_csv(self, lines: Iterable[str] | Iterable[bytes]) -> Iterator[ImportRow]:
        reader = csv.reader(self._text(lines), strict=True)
        header = self._header(reader)
        if header is not None:
            raise header
        seen: dict[bytes, int] = {}  # NIK hash -> its first row, packed
        cards: dict[str, int] = {}  # card number -> line
        accept = self._accepter(cards, seen, lambda first: first)
        read_to = reader.line_num
        progress, every = self._progress, PROGRESS_EVERY_ROWS
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error:
                self._problem(read_to + 1, None, _BAD_CSV)
                read_to = reader.line_num
                continue
            line, read_to = read_to + 1, reader.line_num
            if not fields or fields == [""]:
                continue  # a blank line
            self.rows += 1
            if progress is not None and self.rows % every == 0:
                progress(self.rows, False)
            checked = self._row(line, fields)
            if checked is None:
                continue
            digest, row = checked
            packed = seen.setdefault(digest, _pack(line, row.wave, row.result is WaveResult.LOLOS, row.phone, row.name))
            if accept(line, digest, row, None if (packed & _LINE_BITS) == line else packed):
                yield row
        self._finish()

    def _finish(self) -> None:
        # let go of the cross-row tables (a million NIKs) before the database builds its indexes
        self._bad_waves, self._good_waves = {}, _no_waves
        if not self.total_problems and not self.rows:
            self._problem(0, None, _NO_ROWS)
        if self.total_problems:
            raise self._reject()
        if self._progress is not None:
            self._progress(self.rows, True)

    def _accepter(self, cards: dict[str, int], seen: dict[bytes, int], packed: Callable[[int], int]
                  ) -> Callable[[int, bytes, ImportRow, int | None], bool]:
        """The checks across rows, for a row good on its own; `first` is its NIK's first row, packed (`_pack`),
        None when this row is the first. `seen` and `packed` let `_bad_row` find the waves of good rows."""
        repeated: dict[bytes, _Repeated] = {}
        bad = self._bad_waves

        def good_waves(digest: bytes) -> dict[int, int]:
            info = repeated.get(digest)
            if info is not None:
                return info.waves
            first = seen.get(digest)
            return {} if first is None else _unpack(packed(first)).waves

        self._good_waves = good_waves

        def accept(line: int, digest: bytes, row: ImportRow, first: int | None) -> bool:
            if bad and (other := bad.get(digest, {}).get(row.wave)) is not None:  # a bad row had this NIK and wave
                self._problem(line, NIK, _NIK_WAVE_TWICE, wave=row.wave, other=other)
                return False
            lolos = row.result is WaveResult.LOLOS
            if first is not None and not self._agrees(line, row, lolos, repeated, digest, first):
                return False
            if row.card_number is not None:
                other = cards.setdefault(row.card_number, line)
                if other != line:
                    self._problem(line, CARD, _CARD_TWICE, other=other)
                    return False
            return True

        return accept

    def _header(self, reader: Iterator[list[str]]) -> ImportRejected | None:
        try:
            fields = next(reader)
        except StopIteration:
            self._problem(0, None, _EMPTY_FILE)
            return self._reject()
        except csv.Error:
            fields = []
        if self.total_problems:  # not text: no point reading on
            return self._reject()
        if [f.strip().lower() for f in fields] != list(HEADER):
            problem = _header_problem(fields)
            self._problem(problem.line, problem.column, problem.message, **dict(problem.params))
            return self._reject()
        return None

    def _agrees(
        self, line: int, row: ImportRow, lolos: bool, repeated: dict[bytes, _Repeated], digest: bytes, packed: int
    ) -> bool:
        """A NIK seen before: same phone and name, a new wave, lolos at most once. Records the row if it agrees."""
        info = repeated.get(digest)
        if info is None:
            info = repeated[digest] = _unpack(packed)
        ok = True
        if (other := info.waves.get(row.wave)) is not None:
            self._problem(line, NIK, _NIK_WAVE_TWICE, wave=row.wave, other=other)
            ok = False
        if int(row.phone[1:]) != info.phone:
            self._problem(line, PHONE, _DIFFERS, other=info.first_line)
            ok = False
        if hash(row.name) & _MASK64 != info.name:
            self._problem(line, NAME, _DIFFERS, other=info.first_line)
            ok = False
        if lolos and info.lolos_line is not None:
            self._problem(line, RESULT, _LOLOS_TWICE, other=info.lolos_line)
            ok = False
        if ok:
            info.waves[row.wave] = line
            if lolos:
                info.lolos_line = line
        return ok

    def _row(self, line: int, fields: list[str]) -> tuple[bytes, ImportRow] | None:
        """One row checked field by field; every problem is recorded, the row only returned when all are fine."""
        if len(fields) != len(HEADER):
            self._problem(line, None, _FIELD_COUNT, found=len(fields), expected=len(HEADER))
            return None
        nik_text, phone_text, name, wave_text, result_text, card_text, balance_text = fields
        before = self.total_problems
        nik = fast_nik(nik_text) or self._nik(line, nik_text)
        try:
            phone = fast_phone(phone_text)
        except NotMobile:
            self._problem(line, PHONE, _PHONE_NOT_MOBILE)
            phone = ""
        except PhoneError:
            self._problem(line, PHONE, _REQUIRED if not phone_text.strip() else _PHONE_BAD)
            phone = ""
        name = name.strip()
        if not name:
            self._problem(line, NAME, _REQUIRED)
        elif len(name) > MAX_NAME_LENGTH:
            self._problem(line, NAME, _NAME_LONG, n=MAX_NAME_LENGTH)
        elif not name.isprintable():
            self._problem(line, NAME, _NAME_UNPRINTABLE)
        wave_text = wave_text.strip()
        wave = parse_int(wave_text) or 0
        if not 1 <= wave <= MAX_WAVE:
            self._problem(line, WAVE, WAVE_BAD, max=MAX_WAVE)
        result_key = result_text.strip().lower()
        result = RESULTS.get(result_key)
        if result is None and result_key:
            self._problem(line, RESULT, _RESULT_BAD)  # card and balance cannot be judged without it
            card, balance = None, None
        else:
            card, balance = self._card_and_balance(line, result is WaveResult.LOLOS, card_text, balance_text)
        if nik is None:
            return None
        digest = self._hasher.digest(nik)
        if self.total_problems != before:
            if 1 <= wave <= MAX_WAVE:
                self._bad_row(line, digest, wave)
            return None
        return digest, ImportRow(digest, phone, name, wave, result, card, balance, line)

    def _bad_row(self, line: int, digest: bytes, wave: int) -> None:
        """A row with problems whose NIK and wave are readable: is that NIK already in that wave, in a good row or
        another bad one? Noted, so a later row of the same NIK and wave is reported too."""
        other = self._bad_waves.get(digest, {}).get(wave) or self._good_waves(digest).get(wave)
        if other is not None:
            self._problem(line, NIK, _NIK_WAVE_TWICE, wave=wave, other=other)
        self._bad_waves.setdefault(digest, {}).setdefault(wave, line)

    def _nik(self, line: int, text: str) -> str | None:
        check = check_nik(text)
        if check.problem is None:  # check.ok
            return check.nik
        if check.problem is NikProblem.NOT_DIGITS and "e+" in text.lower():
            self._problem(line, NIK, _NIK_SCIENTIFIC)
        else:
            self._problem(line, NIK, _NIK_PROBLEMS[check.problem], n=check.position)
        return None

    def _card_and_balance(
        self, line: int, lolos: bool, card_text: str, balance_text: str
    ) -> tuple[str | None, int | None]:
        card_text, balance_text = card_text.strip(), balance_text.strip()
        if not lolos:
            if card_text:
                self._problem(line, CARD, _CARD_NOT_LOLOS)
            if balance_text:
                self._problem(line, BALANCE, _BALANCE_NOT_LOLOS)
            return None, None
        card = card_text if len(card_text) == CARD_LENGTH else _SEPARATORS.sub("", card_text)
        if not card:
            self._problem(line, CARD, _CARD_REQUIRED)
        elif len(card) != CARD_LENGTH or not is_digits(card):
            self._problem(line, CARD, _CARD_BAD, n=CARD_LENGTH)
        if not balance_text:
            return card, None
        if is_digits(balance_text):
            balance = int(balance_text)
            if balance <= MAX_BALANCE:
                return card, balance
            self._problem(line, BALANCE, _BALANCE_LARGE, max=MAX_BALANCE)
        elif balance_text.startswith("-"):
            self._problem(line, BALANCE, _BALANCE_NEGATIVE)
        elif _DECIMAL.fullmatch(balance_text):
            self._problem(line, BALANCE, _BALANCE_DECIMAL)
        else:
            self._problem(line, BALANCE, _BALANCE_FORMAT)
        return card, None


def validate(lines: Iterable[str] | Iterable[bytes], pepper: str, processes: int = 1) -> int:
    """Check a whole file without importing it: the number of data rows, or `ImportRejected`."""
    validator = Validator(pepper, processes=processes)
    for _ in validator.validate(lines):
        pass
    return validator.rows


async def import_lines(
    storage: Storage, lines: Iterable[str] | Iterable[bytes], pepper: str,
    progress: Callable[[int, bool], None] | None = None, processes: int = 1,
) -> ImportCounts:
    """Validate and import in one stream: all or nothing. Raises `ImportRejected` (nothing imported).
    `processes` > 1: a large plain file is checked in that many forked processes (the command line's import; the
    running bot checks uploads in its own process)."""
    validator = Validator(pepper, progress, processes)
    try:
        counts = await storage.accounts.import_rows(validator.validate(lines))
    except ImportConflict as exc:
        problems = [Problem(line, CARD, _CARD_TAKEN) for line in exc.lines]
        raise ImportRejected(problems, exc.total) from None
    log.info("import: %d rows, %d new, %d updated, %d unchanged", counts.total, counts.new, counts.updated,
             counts.unchanged)
    return counts


def counts_text(counts: ImportCounts, t: Translator) -> str:
    text = t.gettext("Impor selesai: {total} baris; {new} baru, {updated} diperbarui, {unchanged} tidak berubah.")
    return text.format(total=counts.total, new=counts.new, updated=counts.updated, unchanged=counts.unchanged)


# --- command line --------------------------------------------------------------------------------------------------

class _ProgressLine:
    """Prints "N baris diperiksa…" to stderr every few seconds; a file read within that time prints nothing."""

    def __init__(self, t: Translator) -> None:
        self._t = t
        self._last = time.monotonic()
        self._printed = False

    def __call__(self, rows: int, done: bool) -> None:
        now = time.monotonic()
        if done and self._printed:
            message = self._t.gettext("{rows} baris diperiksa; menyimpan ke basis data…")
        elif not done and now - self._last >= PROGRESS_EVERY_SECONDS:
            message = self._t.gettext("{rows} baris diperiksa…")
        else:
            return
        print(message.format(rows=rows), file=sys.stderr, flush=True)
        self._last, self._printed = now, True


async def run_import(settings: Settings, path: Path) -> int:
    """`python -m bot import FILE.csv`: 0 when imported, 1 when the file was refused (nothing imported)."""
    pepper = settings.require_pepper()
    t = translator("id")
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return _fail(t.gettext("File tidak ditemukan: {path}").format(path=path))
    except IsADirectoryError:
        return _fail(t.gettext("Ini folder, bukan file CSV: {path}").format(path=path))
    except OSError as exc:
        return _fail(t.gettext("File tidak dapat dibaca: {path} ({reason})").format(path=path, reason=exc.strerror))
    storage = await open_storage(settings.database_target, pool_size=settings.database_pool_size)
    try:
        with handle:
            counts = await import_lines(storage, handle, pepper, _ProgressLine(t), processes=os.cpu_count() or 1)
        await storage.audit.record(
            "cli", "admin", "import", None, f"new={counts.new} updated={counts.updated} unchanged={counts.unchanged}"
        )
        unpublished = [s.wave.number for s in await storage.staff.wave_summaries()
                       if not s.wave.published and s.lolos + s.tidak_lolos]
    except ImportRejected as exc:
        print(t.gettext("Impor dibatalkan, tidak ada data yang diubah. Kesalahan:"), file=sys.stderr)
        for line in exc.lines(t):
            print(f"  {line}", file=sys.stderr)
        return 1
    except OSError as exc:
        return _fail(t.gettext("File tidak dapat dibaca: {path} ({reason})").format(path=path, reason=exc.strerror))
    finally:
        await storage.close()
    print(counts_text(counts, t))
    if unpublished:
        print(t.gettext("Hasil gelombang {waves} belum diumumkan. Umumkan dengan: python -m bot admin publish"
                        " NOMOR --yes (atau /umumkan NOMOR di chat admin); jadwalkan dengan: python -m bot admin"
                        " schedule NOMOR \"{date} 17:00\".").format(waves=", ".join(map(str, unpublished)),
                                                                  date=example_date(datetime.now(UTC))))
    return 0


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def write_demo_file(path: Path, accounts: int, seed: int) -> int:
    """`python -m bot demo-data FILE.csv --accounts N`: a synthetic import file (generated people only), streamed."""
    t = translator("id")
    if accounts < 1:
        print(t.gettext("--accounts harus paling sedikit 1"), file=sys.stderr)
        return 2
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            writer.writerows(
                (p.nik, p.phone, p.name, p.wave, p.result.value if p.result else "", p.card_number or "",
                 "" if p.balance is None else p.balance)
                for p in applicants(accounts, seed)
            )
    except OSError as exc:
        return _fail(t.gettext("File tidak dapat ditulis: {path} ({reason})").format(path=path, reason=exc.strerror))
    print(t.gettext("{n} baris ditulis ke {path}").format(n=accounts, path=path))
    return 0


def upload_lines(data: bytes) -> Iterator[bytes]:
    """The lines of a file uploaded to the bot, for `import_lines` / `validate`."""
    return iter(io.BytesIO(data))
