"""The importer's fast paths never disagree with the rules they speed up (handlers.identity)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.importer import NikHasher, fast_nik, fast_phone
from handlers.identity import PhoneError, check_nik, hash_nik, normalize_phone

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
    st.sampled_from(["0", "62", "+62", "+6", "", "00", "+1"]),
    st.sampled_from(["8", "81", "812", "85", "21", "8123", "89", "84", "80"]),
    st.text("0123456789", min_size=4, max_size=12),
).map("".join)


@given(phone_like)
def test_fast_phone_agrees_with_normalize_phone(text: str) -> None:
    try:
        slow: str | None = normalize_phone(text)
    except PhoneError:
        slow = None
    try:
        fast: str | None = fast_phone(text)
    except PhoneError:
        fast = None
    assert fast == slow


@given(st.text("0123456789", min_size=16, max_size=16))
def test_nik_hasher_is_hash_nik(nik: str) -> None:
    for pepper in ("sixteen-chars-ok", "p" * 64, "a much longer pepper " * 5, "ümlaut-pepper-with-ß"):
        assert NikHasher(pepper).digest(nik).hex() == hash_nik(nik, pepper)
