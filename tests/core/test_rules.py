"""Identity rules, log masking and settings validation: the parts every flow relies on."""

from __future__ import annotations

import logging

import pytest

from bot.logs import MaskingFilter, mask_text
from bot.settings import SettingsError, load_settings
from handlers.identity import NikProblem, check_nik, hash_nik, mask_card, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("text", "problem", "position"),
    [
        ("", NikProblem.EMPTY, None),
        ("31710141089a0001", NikProblem.NOT_DIGITS, 12),
        ("317101410890", NikProblem.TOO_SHORT, 12),
        ("31710141089000011", NikProblem.TOO_LONG, 17),
        ("9971014108900001", NikProblem.PROVINCE, 1),
        ("3100014108900001", NikProblem.REGENCY, 3),
        ("3171004108900001", NikProblem.DISTRICT, 5),
        ("3171013213900001", NikProblem.BIRTH_MONTH, 9),
        ("3171013202900001", NikProblem.BIRTH_DAY, 7),  # 32 February
        ("3171017202900001", NikProblem.BIRTH_DAY, 7),  # woman, day 72 - 40 = 32
        ("3171014108900000", NikProblem.SERIAL, 13),
    ],
)
def test_nik_shape_problems_name_the_digit(text: str, problem: NikProblem, position: int | None) -> None:
    check = check_nik(text)
    assert check.problem is problem
    assert check.position == position


@pytest.mark.parametrize("text", ["3171014108900001", "3171 0141 0890 0001", "3171-0171-0890-0001"])
def test_valid_niks_including_women(text: str) -> None:
    assert check_nik(text).ok


def test_nik_hash_is_keyed() -> None:
    nik = "3171014108900001"
    assert hash_nik(nik, "pepper-one-0000000") != hash_nik(nik, "pepper-two-0000000")
    assert len(hash_nik(nik, "pepper-one-0000000")) == 32  # raw bytes, not the NIK in any form


@pytest.mark.parametrize("raw", ["081234567890", "6281234567890", "+62 812-3456-7890", "+6281234567890"])
def test_indonesian_phone_forms_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+6281234567890"


def test_masks() -> None:
    assert mask_phone("+6281234567890") == "+62812****7890"
    assert mask_card("5123456789012345") == "5xxx xxxx xxxx 2345"


def test_log_filter_masks_nik_phone_and_card(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("user %s nik %s card %s", "+6281234567890", "3171014108900001", "5123 4567 8901 2345")
    logged = caplog.text
    assert "3171014108900001" not in logged
    assert "81234567890" not in logged
    assert "5123 4567 8901 2345" not in logged
    assert mask_text("no numbers here") == "no numbers here"


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"INTRO_VIDEO_URL": "not a url"}, "INTRO_VIDEO_URL"),
        ({"NIK_PEPPER": "short"}, "NIK_PEPPER"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
    ],
)
def test_malformed_settings_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], word: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert word in str(error.value)
    assert "\n" not in str(error.value)


def test_principals_parse_telegram_and_whatsapp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "123, whatsapp:+6281234567890")
    settings = load_settings()
    assert [str(p) for p in settings.admin_ids] == ["123", "whatsapp:6281234567890"]
