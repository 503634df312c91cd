"""Identity rules: NIK shape, NIK hashing, Indonesian phone numbers, masking for logs and staff.

A NIK (Nomor Induk Kependudukan) has 16 digits: 2 province + 2 regency + 2 district codes, the birth date as
DDMMYY (40 added to the day for women), and a 4-digit serial. Checking the shape first lets a typo get
"check digit N" instead of burning one of the five verification attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

NIK_LENGTH = 16

# Province codes (kode wilayah, Kemendagri), including the Papua provinces formed in 2022.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
     71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29: the two-digit year cannot tell leap years


class NikProblem(StrEnum):
    EMPTY = "empty"
    NOT_DIGITS = "not_digits"  # `position` is the first non-digit (1-based)
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    PROVINCE = "province"  # digits 1-2
    REGENCY = "regency"  # digits 3-4
    DISTRICT = "district"  # digits 5-6
    BIRTH_DAY = "birth_day"  # digits 7-8
    BIRTH_MONTH = "birth_month"  # digits 9-10
    SERIAL = "serial"  # digits 13-16


@dataclass(frozen=True, slots=True)
class NikCheck:
    nik: str | None  # the cleaned 16 digits when the shape is valid
    problem: NikProblem | None = None
    position: int | None = None  # first digit (1-based) to look at

    @property
    def ok(self) -> bool:
        return self.problem is None


# --- the one rule for "this text holds a NIK" (DESIGN.md 4) -------------------------------------------------------
# Sixteen ASCII digits with any number of separators between them: white space of any kind (including newlines and
# non-breaking spaces), dots, dashes of any kind, underscores, slashes, invisible spaces; and, so that a log line
# of a repr or a JSON dump is caught too, the escaped forms of those (`\n`, `\xa0`, `\u2013`). The same pattern
# decides deleting the message, masking it in every text that leaves the bot (replies echoing user text, ticket
# relays, what is stored) and masking every log line (bot/logs.py), so no two places can disagree.
_SEPARATOR_CHARS = r"\s.\-_/\u00ad\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff"
_SEPARATOR = rf"(?:[{_SEPARATOR_CHARS}]|\\[ntr]|\\x[0-9a-fA-F]{{2}}|\\u[0-9a-fA-F]{{4}})"
# Not glued to a digit before it, unless that digit ends an escape (`\xa0` before the NIK in a repr).
_NO_DIGIT_BEFORE = r"(?:(?<![0-9])|(?<=\\x[0-9a-fA-F]{2})|(?<=\\u[0-9a-fA-F]{4}))"
_NIK_RUN = re.compile(rf"{_NO_DIGIT_BEFORE}(?:[0-9]{_SEPARATOR}*+){{{NIK_LENGTH - 1}}}[0-9](?![0-9])")
# A run of digits that stands as its own word(s): not glued to letters ("32AB5678..." is one mistyped NIK).
_DIGIT_RUN = re.compile(rf"(?<!\w)[0-9](?:{_SEPARATOR}*+[0-9])*(?!\w)")
_SEPARATORS = re.compile(_SEPARATOR)
NIK_MASK = "[16 digit disamarkan]"


def looks_like_nik(text: str) -> bool:
    """A run of 16 digits (with any separators) somewhere in the text: treat the message as carrying a NIK."""
    return _NIK_RUN.search(text) is not None


def mask_niks(text: str) -> str:
    """Every run of 16 digits (a NIK, or a card number) replaced, in any text that leaves the bot or is kept."""
    return _NIK_RUN.sub(NIK_MASK, text)


def nik_candidate(text: str) -> str:
    """What in a message is meant as the NIK: its 16-digit run ("NIK saya 3107 0746 ..."), else its longest run of
    digits when the message has words too (a NIK with a typo inside a sentence), else the message itself."""
    found = _NIK_RUN.search(text)
    if found is not None:
        return found.group()
    runs = _DIGIT_RUN.findall(text)
    if runs and any(char.isalpha() for char in text):
        return max(runs, key=lambda run: sum(char.isdigit() for char in run))
    return text


def check_nik(text: str) -> NikCheck:
    """Validate the shape of a NIK typed by a person (any separators between digits allowed)."""
    cleaned = _SEPARATORS.sub("", text.strip())
    if not cleaned:
        return NikCheck(None, NikProblem.EMPTY)
    for index, char in enumerate(cleaned, start=1):
        if not ("0" <= char <= "9"):
            return NikCheck(None, NikProblem.NOT_DIGITS, index)
    if len(cleaned) < NIK_LENGTH:
        return NikCheck(None, NikProblem.TOO_SHORT, len(cleaned))
    if len(cleaned) > NIK_LENGTH:
        return NikCheck(None, NikProblem.TOO_LONG, NIK_LENGTH + 1)
    if int(cleaned[0:2]) not in PROVINCE_CODES:
        return NikCheck(None, NikProblem.PROVINCE, 1)
    if cleaned[2:4] == "00":
        return NikCheck(None, NikProblem.REGENCY, 3)
    if cleaned[4:6] == "00":
        return NikCheck(None, NikProblem.DISTRICT, 5)
    day, month = int(cleaned[6:8]), int(cleaned[8:10])
    if not 1 <= month <= 12:
        return NikCheck(None, NikProblem.BIRTH_MONTH, 9)
    if day > 40:
        day -= 40  # women: 40 is added to the day of birth
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return NikCheck(None, NikProblem.BIRTH_DAY, 7)
    if cleaned[12:16] == "0000":
        return NikCheck(None, NikProblem.SERIAL, 13)
    return NikCheck(cleaned)


def hash_nik(nik: str, pepper: str) -> bytes:
    """Keyed hash of a valid NIK (HMAC-SHA256, 32 raw bytes): the only form in which a NIK is stored or compared."""
    return hmac.new(pepper.encode(), nik.encode(), hashlib.sha256).digest()


class PhoneError(ValueError):
    pass


def normalize_phone(text: str) -> str:
    """Any Indonesian form (0812..., 62812..., +62 812-...) to E.164 (+62812...)."""
    raw = text.strip()
    if not raw:
        raise PhoneError("empty")
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("62") and not digits.startswith("+"):
        digits = "+" + digits  # Telegram contacts often come without the plus
    try:
        number = phonenumbers.parse(digits, "ID")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Indonesian mobile numbers inside free text (logs, texts kept for staff): 08.., 628.., +62 8.., any separators.
_PHONE_IN_TEXT = re.compile(
    rf"(?<![0-9+])(\+?62|0)[{_SEPARATOR_CHARS}]*(8[0-9])(?:{_SEPARATOR}*+[0-9]){{6,11}}(?![0-9])")


def mask_phones(text: str) -> str:
    """Every Indonesian mobile number in a text shortened to its operator prefix: '0812******'."""
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}******", text)


def mask_personal(text: str) -> str:
    """NIKs (and card numbers) and phone numbers masked: what logs and kept free text may hold."""
    return mask_phones(mask_niks(text))


def mask_phone(phone: str) -> str:
    """+6281234567890 -> +62812****7890."""
    if len(phone) <= 8:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 10) + phone[-4:]


def mask_card(card: str) -> str:
    """5xxx xxxx xxxx 1234: first and last four visible to staff."""
    digits = re.sub(r"\D", "", card)
    if len(digits) < 8:
        return "x" * len(digits)
    return f"{digits[0]}xxx xxxx xxxx {digits[-4:]}"


def format_card(card: str) -> str:
    """Group the card number in fours, as printed on the dashboard."""
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))
