"""Template messages: the only messages WhatsApp lets a business send outside the 24-hour window.

The names and languages are settings (WHATSAPP_TEMPLATE_INFO, WHATSAPP_TEMPLATE_RESULT, WHATSAPP_TEMPLATE_LANGUAGES);
the texts to submit to Meta are in docs/whatsapp-templates.md. A template body takes parameters with no newlines,
tabs or runs of 4 spaces, so free text is flattened into one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.channels.whatsapp.limits import TEMPLATE_PARAM_MAX
from bot.channels.whatsapp.markup import flatten, to_whatsapp
from bot.channels.whatsapp.render import Message
from handlers.api import ACTION_SEPARATOR
from handlers.router import GO

DEFAULT_INFO = "prakerja_info"  # {{1}}: the announcement text; quick reply "Buka menu"
DEFAULT_RESULT = "prakerja_hasil_seleksi"  # {{1}}: wave number; quick reply "Lihat hasil"
DEFAULT_CODE = "prakerja_kode_verifikasi"  # authentication template: {{1}} the code; copy-code button
DEFAULT_LANGUAGES = {"id": "id", "en": "en"}
MENU_PAYLOAD = f"{GO}{ACTION_SEPARATOR}menu"
RESULT_PAYLOAD = f"{GO}{ACTION_SEPARATOR}hasil"


@dataclass(frozen=True, slots=True)
class TemplateNames:
    info: str = DEFAULT_INFO
    result: str = DEFAULT_RESULT
    code: str = DEFAULT_CODE
    languages: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LANGUAGES))

    def language(self, locale: str) -> str:
        return self.languages.get(locale) or self.languages.get("id") or "id"


def _template(name: str, language: str, params: list[str], button_payload: str) -> Message:
    return {"type": "template", "template": {
        "name": name,
        "language": {"code": language},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": button_payload}]},
        ],
    }}


def info_template(names: TemplateNames, locale: str, reply_text: str) -> Message:
    """An announcement or notice (Reply markup) as the info template; spoilers stay masked."""
    text = flatten(to_whatsapp(reply_text).text, TEMPLATE_PARAM_MAX)
    return _template(names.info, names.language(locale), [text], MENU_PAYLOAD)


def result_template(names: TemplateNames, locale: str, wave: int) -> Message:
    """'The results of wave N are out': the result itself is sent once the user taps the button (window open)."""
    return _template(names.result, names.language(locale), [str(wave)], RESULT_PAYLOAD)


def code_template(names: TemplateNames, locale: str, code: str) -> Message:
    """A one-time code as an authentication template (Meta's fixed text, with a copy-code button)."""
    return {"type": "template", "template": {
        "name": names.code,
        "language": {"code": names.language(locale)},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": code}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": code}]},
        ],
    }}
