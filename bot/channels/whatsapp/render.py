"""Replies as WhatsApp Cloud API messages, degrading to what the platform can show.

Choices (buttons that send an action) become, by count: up to 3 reply buttons (titles up to 20 characters), up to
10 rows of an interactive list, or numbered text in pages of 10 with "previous/next" buttons, where typing the
number presses the choice (the channel keeps the numbered choices of the last message). One link button and no
choices becomes a call-to-action URL button; other link buttons go into the text as "label: url". A spoiler (the
card number) is shown masked, with a button that shows it in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.whatsapp import limits
from bot.channels.whatsapp.markup import clip, split_text, to_whatsapp
from handlers.api import ACTION_SEPARATOR, Button, LinkButton, Reply
from handlers.i18n import Translator

# Channel-level actions: handled by the WhatsApp channel itself, never by the router.
PAGE = "wa_page"
REVEAL = "wa_reveal"

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    payload: str  # what the button sends back: "action" or "action:arg"


@dataclass
class Rendered:
    messages: list[Message] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)  # the numbered choices of the last message, if it had them
    secrets: list[str] = field(default_factory=list)  # clear text behind each "show" button, by index


def text_message(body: str) -> Message:
    # No link previews: the bot echoes links it warns about (the scam check).
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _interactive(kind: str, body: str, action: dict[str, Any]) -> Message:
    return {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def buttons_message(body: str, choices: Sequence[Choice]) -> Message:
    return _interactive("button", body, {"buttons": [
        {"type": "reply", "reply": {"id": c.payload, "title": clip(c.label, limits.REPLY_BUTTON_TITLE_MAX)}}
        for c in choices
    ]})


def cta_message(body: str, link: LinkButton) -> Message:
    return _interactive("cta_url", body, {"name": "cta_url", "parameters": {
        "display_text": clip(link.label, limits.CTA_DISPLAY_TEXT_MAX), "url": link.url}})


def fits_buttons(choices: Sequence[Choice]) -> bool:
    return len(choices) <= limits.REPLY_BUTTONS_MAX and all(
        len(c.label) <= limits.REPLY_BUTTON_TITLE_MAX for c in choices
    )


class Renderer:
    """Renders Replies for one chat, with the labels of the chat's language."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def outgoing(self, replies: Sequence[Reply]) -> Rendered:
        out = Rendered()
        for reply in replies:
            numbered = self._reply(reply, out)
            out.choices = numbered  # only the last message's numbered choices can be typed
        return out

    # --- one reply ----------------------------------------------------------------------------------
    def _reply(self, reply: Reply, out: Rendered) -> list[Choice]:
        converted = to_whatsapp(reply.text)
        reveal = [
            Choice(self.t.gettext("Tampilkan no. kartu"), f"{REVEAL}{ACTION_SEPARATOR}{len(out.secrets) + i}")
            for i in range(len(converted.secrets))
        ]
        out.secrets.extend(converted.secrets)
        choices = _unique(reveal + [
            Choice(b.label, b.payload) for row in reply.buttons for b in row if isinstance(b, Button)
        ])
        links = [b for row in reply.buttons for b in row if isinstance(b, LinkButton)]
        text = converted.text.strip()
        if len(links) == limits.CTA_PER_MESSAGE and not choices and len(text) <= limits.INTERACTIVE_BODY_MAX and text:
            out.messages.append(cta_message(text, links[0]))
            return []
        for link in links:
            if link.url not in text:
                text += f"\n{link.label}: {link.url}"
        if not choices:
            out.messages.extend(text_message(part) for part in split_text(text))
            return []
        if fits_buttons(choices):
            out.messages.extend(self._with_body(text, lambda body: buttons_message(body, choices)))
            return []
        if len(choices) <= limits.LIST_ROWS_MAX:
            out.messages.extend(self._with_body(text, lambda body: self.list_message(body, choices)))
            return []
        out.messages.extend(self._with_body(text, lambda body: self.numbered_page(choices, 0, intro=body)))
        return choices

    def _with_body(self, text: str, build: Any) -> list[Message]:
        """An interactive message with `text` as its body; text over the body limit goes in text messages first."""
        if text:
            first = build(text)
            if _body_length(first) <= limits.INTERACTIVE_BODY_MAX:
                return [first]
        leading = [text_message(part) for part in split_text(text)] if text else []
        return [*leading, build(self.t.gettext("Pilih salah satu:"))]

    # --- list and pages -----------------------------------------------------------------------------
    def list_message(self, body: str, choices: Sequence[Choice]) -> Message:
        rows = []
        for c in choices:
            row: dict[str, str] = {"id": c.payload, "title": clip(c.label, limits.LIST_ROW_TITLE_MAX)}
            if row["title"] != c.label:
                row["description"] = clip(c.label, limits.LIST_ROW_DESCRIPTION_MAX)
            rows.append(row)
        return _interactive("list", body, {
            "button": clip(self.t.gettext("Pilih"), limits.LIST_BUTTON_MAX),
            "sections": [{"title": clip(self.t.gettext("Pilihan"), limits.LIST_SECTION_TITLE_MAX), "rows": rows}],
        })

    def numbered_page(self, choices: Sequence[Choice], page: int, intro: str = "") -> Message:
        """Page `page` (0-based) of numbered choices; numbers run on over pages, so "12" is always the same."""
        size = limits.NUMBERED_PAGE_SIZE
        pages = max(1, -(-len(choices) // size))
        page = min(max(page, 0), pages - 1)
        first = page * size
        lines = [
            f"{number}. {clip(c.label, limits.LIST_ROW_DESCRIPTION_MAX)}"
            for number, c in enumerate(choices[first : first + size], start=first + 1)
        ]
        hint = self.t.gettext("Ketik angka pilihan Anda (halaman {page} dari {pages}).").format(
            page=page + 1, pages=pages
        )
        body = "\n".join(([intro, ""] if intro else []) + lines + ["", hint])
        nav = []
        if page > 0:
            nav.append(Choice(self.t.gettext("◀ Sebelumnya"), f"{PAGE}{ACTION_SEPARATOR}{page - 1}"))
        if page < pages - 1:
            nav.append(Choice(self.t.gettext("Berikutnya ▶"), f"{PAGE}{ACTION_SEPARATOR}{page + 1}"))
        return buttons_message(body, nav) if nav else text_message(body)


def _body_length(message: Message) -> int:
    if message["type"] == "interactive":
        return len(message["interactive"]["body"]["text"])
    return len(message["text"]["body"])


def _unique(choices: list[Choice]) -> list[Choice]:
    """Drop repeated payloads (WhatsApp refuses duplicate button ids)."""
    seen: set[str] = set()
    result = []
    for c in choices:
        if c.payload not in seen:
            seen.add(c.payload)
            result.append(c)
    return result
