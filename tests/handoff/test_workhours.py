"""When an answer is due: working hours in WIB (SUPPORT_HOURS, SUPPORT_DAYS, SUPPORT_HOLIDAYS), and their settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.settings import SettingsError, load_settings
from handlers.i18n import WIB, translator
from handlers.workhours import WorkingHours, day_and_time

DESK = WorkingHours.parse("08:00-17:00", "mon-fri", "2026-12-25")


@pytest.mark.parametrize(("asked", "due"), [
    (datetime(2026, 11, 24, 9, 0), datetime(2026, 11, 24, 13, 0)),  # Tuesday morning: the same day
    (datetime(2026, 11, 24, 15, 30), datetime(2026, 11, 25, 10, 30)),  # late: the rest the next morning
    (datetime(2026, 11, 27, 16, 0), datetime(2026, 11, 30, 11, 0)),  # Friday 16.00: Monday 11.00
    (datetime(2026, 11, 28, 10, 0), datetime(2026, 11, 30, 12, 0)),  # Saturday: from Monday's opening
    (datetime(2026, 11, 24, 6, 0), datetime(2026, 11, 24, 12, 0)),  # before opening
    (datetime(2026, 12, 24, 15, 0), datetime(2026, 12, 28, 10, 0)),  # Christmas (a holiday), then the weekend
])
def test_answers_are_due_within_working_hours(asked: datetime, due: datetime) -> None:
    assert DESK.add(asked.replace(tzinfo=WIB), 4) == due.replace(tzinfo=WIB)


def test_the_desk_is_open_in_wib_whatever_the_clock_of_the_server() -> None:
    assert DESK.is_open(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # 09.00 WIB
    assert not DESK.is_open(datetime(2026, 11, 24, 11, 0, tzinfo=UTC))  # 18.00 WIB


def test_hours_and_deadlines_read_well_in_both_languages() -> None:
    assert DESK.describe(translator("id")) == "Senin–Jumat, 08.00–17.00 WIB"
    assert DESK.describe(translator("en")) == "Monday–Friday, 08:00–17:00 WIB"
    assert WorkingHours.parse("09:00-15:00", "mon,wed,fri").describe(translator("id")) == (
        "Senin, Rabu, Jumat, 09.00–15.00 WIB")
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=WIB)
    assert day_and_time(translator("id"), friday) == "Jumat, 27 November 2026, 16.00 WIB"


@pytest.mark.parametrize(("setting", "value", "says"), [
    ("support_hours", "17:00-08:00", "ends before it starts"),
    ("support_hours", "pagi", "not a time range"),
    ("support_days", "senin-jumatan", "unknown day"),
    ("support_holidays", "25/12/2026", "not a date"),
    ("support_chat_id", "12345", "supergroup"),
])
def test_bad_support_settings_stop_the_start_with_one_clear_line(setting: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings(**{setting: value})


def test_indonesian_day_names_and_wrapping_ranges() -> None:
    assert WorkingHours.parse("08:00-12:00", "sen-sab").days == frozenset(range(6))
    assert WorkingHours.parse("08:00-12:00", "fri-mon").days == frozenset({4, 5, 6, 0})
