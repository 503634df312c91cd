"""What the admin modules share: the one `Routes` they all register on, platform limits, and parsing and formatting
helpers (numbers, WIB times, short previews)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers.api import Button, FileError, rows
from handlers.context import Context
from handlers.i18n import N_, WIB, Translator
from handlers.router import GO, Routes, escape

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


# --- a file an admin uploads when asked for it (/impor, /impor_faq) ----------------------------------------------
@dataclass(frozen=True, slots=True)
class Upload:
    """What a step accepts as an uploaded file, and how it says no (Indonesian msgids)."""

    suffix: str  # ".csv"
    types: frozenset[str]  # MIME types accepted whatever the file's name
    max_bytes: int
    photo: str  # a photo was sent instead of a document
    wrong_type: str  # {name}: the file's name
    too_large: str  # {size}: its size in MB, as the platform declared it
    too_large_fetched: str  # larger than declared, found while downloading
    unavailable: str  # no file downloads on this channel: the server's command instead


async def received_file(ctx: Context, upload: Upload) -> bytes | None:
    """The uploaded document's bytes, or None when it was refused (the admin is told why, and can send another)."""
    t, document = ctx.t, ctx.event.document
    retry = rows(Button(t.gettext("Batal"), GO, "menu"))
    if document is None:
        ctx.say(t.gettext(upload.photo), retry)
        return None
    if not document.file_name.lower().endswith(upload.suffix) and (document.mime_type or "") not in upload.types:
        ctx.say(t.gettext(upload.wrong_type).format(name=escape(document.file_name or "?")), retry)
        return None
    if document.size > upload.max_bytes:
        ctx.say(t.gettext(upload.too_large).format(size=round(document.size / 1_000_000, 1)), retry)
        return None
    fetcher = ctx.services.files.get(ctx.event.channel)
    if fetcher is None:
        await ctx.end_step()
        ctx.say(t.gettext(upload.unavailable))
        return None
    try:
        return await fetcher.fetch(document.file_id, upload.max_bytes)
    except FileError as exc:
        if exc.too_large:
            ctx.say(t.gettext(upload.too_large_fetched), retry)
        else:
            ctx.say(t.gettext(N_("Berkas tidak bisa diunduh. Silakan kirim ulang.")), retry)
        return None
