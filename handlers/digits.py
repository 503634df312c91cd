"""The one digit parser: a number that comes from outside (a typed choice, a button payload, an id in a command or a
webhook) is read from ASCII digits only.

`str.isdigit()` also says yes to "²" and "١٢", after which `int()` raises (a traceback, and on WhatsApp no reply) or
reads another script's number; `\\d` in a regular expression matches them too. Every place that turns outside text
into a number goes through here, so none of them can disagree (issue 14.10).
"""

from __future__ import annotations

ASCII_DIGITS = "0123456789"
DIGIT = "[0-9]"  # for regular expressions: never `\d`, which matches every script's digits


def is_digits(text: str) -> bool:
    """Only ASCII digits, at least one."""
    return text.isascii() and text.isdigit()


def parse_int(text: str, *, max_digits: int = 12, signed: bool = False) -> int | None:
    """The whole number `text` writes in ASCII digits ("42"; "-100123" with `signed`), surrounding spaces allowed;
    None for anything else ("²", "١٢", "1e3", "", more than `max_digits` digits)."""
    text = text.strip()
    digits = text[1:] if signed and text.startswith("-") else text
    if not is_digits(digits) or len(digits) > max_digits:
        return None
    return int(text)
