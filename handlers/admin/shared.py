"""What the admin modules share: the one `Routes` they all register on, platform limits, and parsing and formatting
helpers (numbers, WIB times, short previews)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from handlers.i18n import WIB, Translator
from handlers.router import Routes, escape

routes = Routes()

# Platform limits, mirrored here because handlers import no platform; a test checks them against
# telegram.constants (MessageLimit.MAX_TEXT_LENGTH, MessageLimit.CAPTION_LENGTH, FileSizeLimit.*).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10_000_000  # FileSizeLimit.PHOTOSIZE_UPLOAD
MAX_IMPORT_BYTES = 20_000_000  # FileSizeLimit.FILESIZE_DOWNLOAD: the largest file a bot may download


_DATE_TIME = re.compile(
    r"^(?:(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2}))?"
    r"\s*(?:pukul\s*|jam\s*)?(?P<hh>\d{1,2})[:.](?P<mm>\d{2})\s*(?:wib)?$",
    re.IGNORECASE | re.ASCII,  # ASCII digits only (handlers/digits.py)
)


def parse_wib(text: str, now: datetime) -> datetime | None:
    """'25-09-2021 17:00', '25/09/2021 17.00 WIB', '2021-09-25 17:00' or '17:00' (today) in WIB -> UTC."""
    match = _DATE_TIME.match(text.strip())
    if match is None:
        return None
    today = now.astimezone(WIB)
    if match["y"]:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match["y2"]:
        year, month, day = int(match["y2"]), int(match["m2"]), int(match["d2"])
    else:
        year, month, day = today.year, today.month, today.day
    try:
        return datetime(year, month, day, int(match["hh"]), int(match["mm"]), tzinfo=WIB).astimezone(UTC)
    except ValueError:
        return None


def example_date(now: datetime) -> str:
    """Tomorrow in WIB as typed ('07-12-2026'): an example an admin can copy without getting "already past"."""
    return (now.astimezone(WIB) + timedelta(days=1)).strftime("%d-%m-%Y")


def time_example(t: Translator, now: datetime) -> str:
    return t.gettext("Contoh: <code>{date} 17:00</code> atau <code>17:00</code> untuk hari ini (WIB).").format(
        date=example_date(now))


def audit_time(when: datetime) -> str:
    """A time kept in the audit log's detail, in WIB as admins typed it ('2026-12-07T17:00+07:00')."""
    return when.astimezone(WIB).isoformat(timespec="minutes")


def shorten(text: str, limit: int = 120) -> str:
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    plain = " ".join(plain.split())
    return escape(plain if len(plain) <= limit else plain[: limit - 1] + "…")


def number(t: Translator, value: int) -> str:
    """1.234 in Indonesian, 1,234 in English (as Babel formats rupiah, without the currency)."""
    return t.money(value).removeprefix("Rp")
