"""Reply -> Telegram messages: HTML text cut to Telegram's length limit, inline keyboards, the contact keyboard."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit

from handlers.api import AnyButton, Button, Reply

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
_TAG = re.compile(r"(<[^<>]+>)")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z-]+)")


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram message: HTML text and its keyboard."""

    text: str
    markup: Markup | None = None
    photo: str | None = None  # a photo (file id or URL) sent with `text` as its caption


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return _inline_keyboard(reply.buttons) if reply.buttons else None


@lru_cache(maxsize=1024)  # the same menus go to every chat; PTB objects are immutable, so one can serve them all
def _inline_keyboard(buttons: tuple[tuple[AnyButton, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.label, callback_data=b.payload) if isinstance(b, Button)
         else InlineKeyboardButton(b.label, url=b.url) for b in row]
        for row in buttons
    ])


# id(markup) -> (markup, its JSON). The entry holds the markup, so its id cannot be reused by another object while
# the entry exists; PTB objects are immutable, so the JSON stays right. Our keyboards come from the caches here,
# so a few hundred entries serve every chat.
_MARKUP_JSON: dict[int, tuple[Markup, str]] = {}
_MARKUP_JSON_MAX = 2048


def markup_json(markup: Markup | None) -> str | None:
    """The keyboard as the Bot API's JSON (what PTB would send), made once per keyboard object: `to_dict` of an
    inline keyboard costs more than the rest of a sendMessage's parameters."""
    if markup is None:
        return None
    entry = _MARKUP_JSON.get(id(markup))
    if entry is not None and entry[0] is markup:
        return entry[1]
    if len(_MARKUP_JSON) >= _MARKUP_JSON_MAX:
        _MARKUP_JSON.clear()
    encoded = json.dumps(markup.to_dict())
    _MARKUP_JSON[id(markup)] = (markup, encoded)
    return encoded


@lru_cache(maxsize=64)  # a few labels (one per language); immutable, like the inline keyboards
def contact_keyboard(label: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(label, request_contact=True)]], one_time_keyboard=True,
                               resize_keyboard=True)


def parts(reply: Reply, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[Part]:
    """The messages for one Reply; the keyboard goes on the last one.

    A reply that asks for the phone number gets Telegram's contact keyboard; a message carries one keyboard
    only, so its inline buttons (e.g. "Batal") are left out: any command or "batal" leaves the step anyway.
    """
    markup: Markup | None = contact_keyboard(reply.request_contact) if reply.request_contact else inline_keyboard(reply)
    if reply.photo and visible(reply.text) <= MessageLimit.CAPTION_LENGTH:
        return [Part(reply.text, markup, photo=reply.photo)]
    texts = split_html(reply.text, limit)
    messages = [Part(text, markup if i == len(texts) - 1 else None) for i, text in enumerate(texts)]
    # A caption too long for the photo: the photo goes first on its own, the text after it.
    return [Part("", None, photo=reply.photo), *messages] if reply.photo else messages


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), an upper bound of what the user sees."""
    return len(text.encode("utf-16-le")) // 2


def visible(text: str) -> int:
    """How many characters Telegram counts for HTML `text` (tags removed, entities decoded)."""
    return units(html.unescape(_TAG.sub("", text)))


def split_html(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut HTML into messages of at most `limit` visible characters, at line ends where possible.

    Tags open at a cut are closed at the end of one message and opened again at the start of the next.
    """
    if visible(text) <= limit:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, raw start tag)
    used = 0
    for raw, size in _pieces(text, limit):
        if used + size > limit and used > 0:
            chunks.append("".join(current) + "".join(f"</{name}>" for name, _ in reversed(open_tags)))
            current, used = [start_tag for _, start_tag in open_tags], 0
        current.append(raw)
        used += size
        for tag in _TAG.findall(raw):
            match = _TAG_NAME.match(tag)
            name = match.group(1).lower() if match else ""
            if not tag.startswith("</"):
                open_tags.append((name, tag))
            elif open_tags and open_tags[-1][0] == name:
                open_tags.pop()
    chunks.append("".join(current))
    return [c for c in chunks if html.unescape(_TAG.sub("", c)).strip()]


def _pieces(text: str, limit: int) -> list[tuple[str, int]]:
    """Whole lines with their visible size; a line longer than `limit` is cut into tags and smaller runs."""
    pieces: list[tuple[str, int]] = []
    for line in re.findall(r"[^\n]*\n|[^\n]+", text):
        if visible(line) <= limit:
            pieces.append((line, visible(line)))
            continue
        step = limit // 2  # any `step` code points are at most `limit` UTF-16 units
        for part in _TAG.split(line):
            if _TAG.fullmatch(part):
                pieces.append((part, 0))
                continue
            plain = html.unescape(part)
            pieces.extend((html.escape(plain[i:i + step], quote=False), units(plain[i:i + step]))
                          for i in range(0, len(plain), step))
    return pieces
