"""Logging that never writes personal data: NIKs, card numbers and phone numbers are masked in every line.

The masking is handlers.identity's one rule (`mask_personal`), so a NIK that a log line holds is found exactly as
the handlers find it in a message, in any spacing, and also inside the reprs and JSON dumps that libraries log at
DEBUG (python-telegram-bot's "Processing update", httpx's request lines). The filter works on the formatted message
and on exception text, so a NIK that slipped into an error message or a traceback is masked too.
"""

from __future__ import annotations

import logging

from handlers.identity import mask_personal

mask_text = mask_personal  # the name the channels and the sender use for error texts they log


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_personal(logging.Formatter().formatException(record.exc_info))
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
