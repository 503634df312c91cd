"""Logging that never writes personal data: phone numbers and 16-digit numbers (NIK, card) are masked.

The filter works on the formatted message and on exception text, so a NIK that slipped into an error message
or a traceback is masked too.
"""

from __future__ import annotations

import logging
import re

_SIXTEEN = re.compile(r"(?<!\d)(\d{4})[\s.\-]?\d{4}[\s.\-]?\d{4}[\s.\-]?(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\d])(\+?62|0)(8\d)[\s\-]?\d{2,4}[\s\-]?\d{2,4}[\s\-]?(\d{2,4})(?!\d)")


def mask_text(text: str) -> str:
    text = _SIXTEEN.sub(lambda m: f"{m.group(1)[0]}***************"[:16], text)
    return _PHONE.sub(lambda m: f"{m.group(1)}{m.group(2)}******", text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, which holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
