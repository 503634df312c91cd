"""The Reply markup (a small HTML subset) as WhatsApp text formatting.

<b>x</b> -> *x*, <i>x</i> -> _x_, <s>x</s> -> ~x~, <code>x</code> -> `x`, <a href="u">label</a> -> "label: u".
WhatsApp has no spoilers: a <tg-spoiler> is shown masked (all but the last four digits or characters), and its
clear text is handed back so the channel can offer a "show" button.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from bot.channels.whatsapp.limits import TEXT_BODY_MAX

MASK_CHAR = "•"
VISIBLE_TAIL = 4
_SPOILER = re.compile(r"<tg-spoiler>(.*?)</tg-spoiler>", re.S)
_LINK = re.compile(r"<a\s+href=\"([^\"]*)\"\s*>(.*?)</a>", re.S)
_STYLES = {"b": "*", "strong": "*", "i": "_", "em": "_", "s": "~", "del": "~", "code": "`"}
_STYLE = re.compile(r"<(b|strong|i|em|s|del|code)>(.*?)</\1>", re.S)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Converted:
    text: str
    secrets: list[str] = field(default_factory=list)  # clear text of each masked spoiler, in order


def mask(secret: str) -> str:
    """'5123 4567 8901 2345' -> '•••• •••• •••• 2345': separators kept, all but the last 4 marks hidden."""
    marks = [i for i, ch in enumerate(secret) if ch.isalnum()]
    hidden = set(marks[:-VISIBLE_TAIL]) if len(marks) > VISIBLE_TAIL else set(marks)
    return "".join(MASK_CHAR if i in hidden else ch for i, ch in enumerate(secret))


def _style(match: re.Match[str]) -> str:
    mark = _STYLES[match.group(1)]
    inner = _STYLE.sub(_style, match.group(2))  # nested styles
    stripped = inner.strip()
    if not stripped:
        return inner
    # WhatsApp only formats when the marks touch the text: move surrounding spaces outside.
    lead = inner[: len(inner) - len(inner.lstrip())]
    tail = inner[len(inner.rstrip()) :]
    return f"{lead}{mark}{stripped}{mark}{tail}"


def _link(match: re.Match[str]) -> str:
    url, label = html.unescape(match.group(1)), _TAG.sub("", match.group(2)).strip()
    if not label or html.unescape(label) == url:
        return url
    return f"{label}: {url}"


def to_whatsapp(text: str, *, reveal: bool = False) -> Converted:
    """Convert Reply markup; spoilers masked (or shown in clear with `reveal`)."""
    secrets: list[str] = []

    def spoiler(match: re.Match[str]) -> str:
        clear = html.unescape(_TAG.sub("", match.group(1)))
        if reveal:
            return clear
        secrets.append(clear)
        return mask(clear)

    text = _SPOILER.sub(spoiler, text)
    text = _LINK.sub(_link, text)
    text = _STYLE.sub(_style, text)
    text = _TAG.sub("", text)
    return Converted(html.unescape(text), secrets)


def split_text(text: str, limit: int = TEXT_BODY_MAX) -> list[str]:
    """Cut text into parts of at most `limit` characters, at a paragraph, line or word boundary when possible."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 2:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def flatten(text: str, limit: int) -> str:
    """Template parameters may not hold newlines, tabs or 4+ spaces in a row: join lines with ' · '."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return clip(" · ".join(line for line in lines if line), limit)
