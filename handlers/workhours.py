"""The support desk's settings and working-hours arithmetic (WIB): when a ticket will be answered at the latest.

Platform-free and without I/O: `bot/settings.py` parses the environment into a `HandoffConfig`, the hand-off
handlers read it from `HandlerConfig.handoff`. "Answered within 4 working hours" counts only the hours the desk
is staffed: a question on Friday at 16.00 with hours 08.00-17.00, Monday to Friday, is due on Monday at 11.00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from babel.dates import format_datetime, get_day_names

from handlers.i18n import WIB, Translator
from handlers.roles import Channel

# Day names in SUPPORT_DAYS: English or Indonesian, three letters or whole; 0 is Monday (datetime.weekday()).
DAY_NAMES = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{name: i for i, name in enumerate(("sen", "sel", "rab", "kam", "jum", "sab", "min"))},
    **{name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                         "sunday"))},
    **{name: i for i, name in enumerate(("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"))},
}
_HOURS = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*$", re.ASCII)
MAX_DAYS_AHEAD = 800  # a deadline further than this means the schedule has (almost) no working time


def parse_days(text: str) -> frozenset[int]:
    """'mon-fri', 'sen-sab', 'mon,wed,fri', 'fri-mon' (wraps) -> weekday numbers. ValueError if malformed."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        if first not in DAY_NAMES or (sep and last not in DAY_NAMES):
            raise ValueError(f"unknown day {part!r}: use mon..sun (or sen..min), e.g. mon-fri or mon,wed,fri")
        start = DAY_NAMES[first]
        end = DAY_NAMES[last] if sep else start
        days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    if not days:
        raise ValueError("no working day: use e.g. mon-fri")
    return frozenset(days)


def parse_hours(text: str) -> tuple[time, time]:
    """'08:00-17:00' (or 08.00-17.00) -> (08:00, 17:00). ValueError if malformed or empty."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time range like 08:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} has an impossible time")
    start, end = time(h1, m1), (time(23, 59, 59) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts (a desk over midnight is not supported)")
    return start, end


def parse_holidays(text: str) -> frozenset[date]:
    """'2026-12-25,2027-01-01' -> dates on which the desk is closed. ValueError if malformed."""
    days: set[date] = set()
    for part in text.replace(" ", "").split(","):
        if part:
            try:
                days.add(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a date like 2026-12-25") from None
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When the desk is staffed, in WIB: weekdays (0 = Monday), opening and closing time, closed dates."""

    days: frozenset[int] = frozenset(range(5))
    start: time = time(8, 0)
    end: time = time(17, 0)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, hours: str, days: str, holidays: str = "") -> WorkingHours:
        start, end = parse_hours(hours)
        return cls(parse_days(days), start, end, parse_holidays(holidays))

    def _works(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(WIB)
        return self._works(local.date()) and self.start <= local.time() < self.end

    def add(self, moment: datetime, hours: float) -> datetime:
        """`moment` plus `hours` of working time (the clock runs only while the desk is staffed)."""
        remaining = timedelta(hours=hours)
        cursor = moment.astimezone(WIB)
        for _ in range(MAX_DAYS_AHEAD):
            day = cursor.date()
            if self._works(day):
                opens = datetime.combine(day, self.start, WIB)
                closes = datetime.combine(day, self.end, WIB)
                cursor = max(cursor, opens)
                if cursor <= closes:
                    if cursor + remaining <= closes:
                        return cursor + remaining
                    remaining -= closes - cursor
            cursor = datetime.combine(day + timedelta(days=1), time(0, 0), WIB)
        raise ValueError("the working hours leave no time to answer within")

    def describe(self, t: Translator) -> str:
        """'Senin–Jumat, 08.00–17.00 WIB' in the reader's language."""
        names = get_day_names("wide", locale=t.locale)
        ordered = sorted(self.days)
        if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
            days = f"{names[ordered[0]]}–{names[ordered[-1]]}"
        else:
            days = ", ".join(names[d] for d in ordered)
        separator = "." if t.locale == "id" else ":"
        hours = f"{self.start:%H}{separator}{self.start:%M}–{self.end:%H}{separator}{self.end:%M} WIB"
        return f"{days}, {hours}"


def day_and_time(t: Translator, moment: datetime) -> str:
    """'Senin, 30 November 2026, 11.00 WIB': a deadline reads better with its weekday."""
    pattern = "EEEE, d MMMM y, HH.mm" if t.locale == "id" else "EEEE, d MMMM y, HH:mm"
    return format_datetime(moment, pattern, tzinfo=WIB, locale=t.locale) + " WIB"


@dataclass(frozen=True, slots=True)
class HandoffConfig:
    """The hand-off to support staff (issue 8). `chat_id` None: no support group, the hand-off is off."""

    chat_id: str | None = None  # the Telegram supergroup (with topics) where staff answer tickets
    channel: Channel = Channel.TELEGRAM  # the platform of that group (the desk worker: bot/channels/telegram/topics.py)
    hours: WorkingHours = field(default_factory=WorkingHours)
    answer_within: float = 4.0  # working hours until an answer is due
    flood_messages: int = 10  # an applicant's messages relayed per window; more are refused with a clear answer
    flood_window: timedelta = timedelta(seconds=60)
    max_file_bytes: int = 20 * 1024 * 1024  # larger photos and documents are not relayed
    tickets_per_hour: int = 3  # new tickets a chat may open within an hour (issue 14.8: one chat flooded the desk)

    @property
    def enabled(self) -> bool:
        return bool(self.chat_id)

    def due(self, since: datetime) -> datetime:
        return self.hours.add(since, self.answer_within)
