"""User-facing text: gettext catalogs in `locales/` (Bahasa Indonesia is the source and the default).

Message ids are written in Bahasa Indonesia, so the code reads as the applicant sees it; `locales/en` translates
them. Handlers call `t.gettext("... {name} ...").format(name=...)`: placeholders are filled after the lookup,
never with an f-string inside the call, so the id stays constant and extractable. The locale is passed
explicitly (one `Translator` per chat locale), as aiogram does, rather than kept in a global.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "id"
SUPPORTED_LOCALES = ("id", "en")
WIB = ZoneInfo("Asia/Jakarta")


def normalize_locale(code: str | None) -> str:
    """Map a platform language code ('en-US', 'id') to a supported locale, falling back to Indonesian."""
    if not code:
        return DEFAULT_LOCALE
    return _normalize_locale(code)


@lru_cache(maxsize=512)  # one call per update; Babel's parse looks for a locale file on disk each time (~0.1 ms)
def _normalize_locale(code: str) -> str:
    try:
        language = Locale.parse(code.replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):  # "xx": well-formed, but no such locale
        return DEFAULT_LOCALE
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


class Translator:
    def __init__(self, locale: str, translations: NullTranslations) -> None:
        self.locale = locale
        self._translations = translations

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def money(self, rupiah: int) -> str:
        """Rp3.550.000 (id) / Rp3,550,000 (en): whole rupiah, no decimals."""
        return _money(rupiah, self.locale)

    def time(self, moment: datetime) -> str:
        """23 September 2021, 17.00 WIB: always shown in Jakarta time."""
        pattern = "d MMMM y, HH.mm" if self.locale == "id" else "d MMMM y, HH:mm"
        return format_datetime(moment, pattern, tzinfo=WIB, locale=self.locale) + " WIB"


@lru_cache(maxsize=4096)  # few distinct amounts (prices, balances); Babel's formatting costs ~50 µs a call
def _money(rupiah: int, locale: str) -> str:
    return "Rp" + format_decimal(rupiah, format="#,##0", locale=locale)


@cache
def translator(locale: str) -> Translator:
    locale = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
    if locale == DEFAULT_LOCALE:
        return Translator(locale, NullTranslations())  # message ids are already Indonesian
    translations = Translations.load(str(LOCALES_DIR), [locale], DOMAIN)
    return Translator(locale, translations)


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it now (e.g. in a table built at import)."""
    return message
