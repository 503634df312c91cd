"""The importer's fast paths never disagree with the rules they speed up (handlers.identity, the csv module)."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterable

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from bot import importer
from bot.demo import applicants
from bot.importer import (
    _NIK_SEGMENTS,
    _NIK_SERIALS_OK,
    _SERIAL_START,
    HEADER,
    ImportRejected,
    NikHasher,
    Validator,
    _digits_regex,
    fast_nik,
    fast_phone,
    plain_text,
)
from handlers.identity import PhoneError, check_nik, hash_nik, normalize_phone
from tests.importer.conftest import PEPPER

two = st.integers(0, 99).map(lambda n: f"{n:02d}")
nik_like = st.one_of(
    st.text("0123456789", min_size=16, max_size=16),
    st.tuples(st.sampled_from(["31", "32", "11", "96", "99", "00", "20"]), two, two,
              st.integers(0, 79).map(lambda n: f"{n:02d}"), st.integers(0, 13).map(lambda n: f"{n:02d}"),
              two, st.integers(0, 9999).map(lambda n: f"{n:04d}")).map("".join),
    st.text(min_size=0, max_size=20),
)


@given(nik_like)
def test_fast_nik_agrees_with_check_nik(text: str) -> None:
    check = check_nik(text)
    fast = fast_nik(text)
    if fast is not None:
        assert check.ok and check.nik == fast
    elif len(text) == 16 and text.isascii() and text.isdigit():
        assert not check.ok  # a plain 16-digit NIK that check_nik accepts always takes the fast path


phone_like = st.tuples(
    st.sampled_from(["0", "62", "+62", "+6", "", "00", "+1", "+44", "+65"]),
    st.sampled_from(["8", "81", "812", "85", "21", "8123", "89", "84", "80"]),
    st.text("0123456789", min_size=4, max_size=12),
).map("".join)


def indonesian_mobile(text: str) -> str | None:
    """The rule, from phonenumbers' own classification: a valid number, in Indonesia, of the mobile kind."""
    try:
        phone = normalize_phone(text)
    except PhoneError:
        return None
    number = phonenumbers.parse(phone)
    mobile = phonenumbers.number_type(number) in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return phone if mobile and phonenumbers.region_code_for_number(number) == "ID" else None


@given(phone_like)
def test_fast_phone_is_normalize_phone_for_indonesian_mobiles_only(text: str) -> None:
    slow = indonesian_mobile(text)
    try:
        fast: str | None = fast_phone(text)
    except PhoneError:
        fast = None
    assert fast == slow


@given(st.text("0123456789", min_size=16, max_size=16))
def test_nik_hasher_is_hash_nik(nik: str) -> None:
    for pepper in ("sixteen-chars-ok", "p" * 64, "a much longer pepper " * 5, "ümlaut-pepper-with-ß"):
        assert NikHasher(pepper).digest(nik) == hash_nik(nik, pepper)


# --- plain files: one regex per line instead of the csv module ---------------------------------------------------

def test_segment_regexes_accept_exactly_the_valid_values() -> None:
    for start, stop, valid in (*_NIK_SEGMENTS, (_SERIAL_START, 16, _NIK_SERIALS_OK)):
        pattern = re.compile(_digits_regex(valid))
        width = stop - start
        assert {v for n in range(10**width) if pattern.fullmatch(v := f"{n:0{width}d}")} == valid


_NIKS = [p.nik for p in applicants(3, seed=11)]
_FIELD_VALUES = (
    [*_NIKS, "99" + _NIKS[0][2:], _NIKS[0][:10], "3.17101E+15", f" {_NIKS[1]}", _NIKS[2] + "1"],
    ["+6281234567890", "081234567890", "0812-3456-7890", "+62 812 3456 7890", "6281234567891",
     "12345", "", "+6221234567", " 081234567890"],
    ["Siti Rahmawati", " Budi ", "Ayu Ñ", "x" * 100, "x" * 101, "Budi\x07", "", "a", "O'Neil"],
    ["1", "2", "3", "0", "01", " 3", "9999", "10000", "x"],
    ["lolos", "tidak_lolos", "", "LOLOS", " lolos", "lulus"],
    ["", "5123456789012345", "5123 4567 8901 2345", "512", "5000000000000001"],
    ["", "3550000", "0", "999999999", "1000000000", "-1", "3.5", "Rp1"],
)
_FIELDS = tuple(st.sampled_from(values) for values in _FIELD_VALUES)
_LINE = st.one_of(st.tuples(*_FIELDS).map(",".join), st.sampled_from(["", "a,b", "   "]))


def _outcome(source: Iterable[bytes] | io.BytesIO) -> tuple[object, ...]:
    validator = Validator(PEPPER)
    try:
        rows = list(validator.validate(source))
    except ImportRejected as rejected:
        return "rejected", rejected.problems, rejected.total
    return "imported", rows, validator.rows


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
def test_plain_file_reads_as_the_csv_module_reads_it(lines: list[str], end: str, bom: bool, last_end: bool) -> None:
    text = ("\ufeff" if bom else "") + end.join([",".join(HEADER), *lines]) + (end if last_end else "")
    data = text.encode()
    assert plain_text(data) is not None  # the regex path is the one under test
    assert _outcome(io.BytesIO(data)) == _outcome(data.splitlines(keepends=True))


@pytest.mark.parametrize("data", [b"\n", b"\xef\xbb\xbf", b"\n\n", b" \n", b",".join(h.encode() for h in HEADER)])
def test_plain_file_without_rows_or_header_reads_as_the_csv_module_reads_it(data: bytes) -> None:
    assert _outcome(io.BytesIO(data)) == _outcome(data.splitlines(keepends=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_plain_file_checked_in_forked_processes_reads_as_in_one(seed: int, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    """`python -m bot import` checks a large plain file in several processes, span by span: the same rows, the same
    problems with their lines and columns, as one process (spans of a few lines here, so there are many)."""
    monkeypatch.setattr(importer, "_SPAN_CHARS", 300)
    pick = random.Random(seed)
    people = list(applicants(300, seed=seed))
    good = [",".join((p.nik, p.phone, p.name, str(p.wave), p.result.value if p.result else "", p.card_number or "",
                      "" if p.balance is None else str(p.balance))) for p in people]
    good += [f"{p.nik},{p.phone},{p.name},{p.wave + 10},tidak_lolos,," for p in people[:20]]  # NIKs that come back
    bad = [",".join(pick.choice(values) for values in _FIELD_VALUES) for _ in range(20)] if seed > 1 else []
    lines = good + bad
    pick.shuffle(lines)
    data = "\n".join([",".join(HEADER), *lines, ""]).encode()

    def outcome(processes: int) -> tuple[object, ...]:
        validator = Validator(PEPPER, processes=processes)
        try:
            rows = list(validator.validate(io.BytesIO(data)))
        except ImportRejected as rejected:
            return "rejected", rejected.problems, rejected.total
        return "imported", rows, validator.rows

    one = outcome(1)
    assert one[0] == ("imported" if seed == 1 else "rejected")
    assert outcome(2) == one
