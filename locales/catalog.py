"""Maintain the gettext catalogs: `python -m locales.catalog update | compile | check`.

- update: extract every `gettext`/`ngettext`/`N_` message id from handlers/ and bot/ into `messages.pot`, merge it
  into each locale's `messages.po` (new ids get an empty translation, obsolete ones are dropped), then compile.
- compile: write `messages.mo` next to each `messages.po`.
- missing: print, as JSON, the ids that have no English translation yet ({id: ""}), to fill in.
- translate FILE.json: set English translations from a JSON object {id: translation} (a plural id: a list of two
  strings, singular then plural; `-` reads standard input), then compile. Ids the code does not use are refused.
- check: exit 1 if an id in the code has no English translation or a `.mo` is stale (the test suite runs this).
  "Stale" compares what the `.mo` says (message id -> translation), never its bytes: a new Babel release writes a
  different header (its version, a date), and that must not turn a fresh clone's test run red.

Message ids are Indonesian (the source language), so `id` needs no catalog; `en` carries the translations.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypedDict

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
SOURCE_DIRS = ("handlers", "bot")
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "N_": None}
TRANSLATED_LOCALES = ("en",)
DOMAIN = "messages"


class PoLayout(TypedDict):  # write_po's layout options
    width: int
    sort_output: bool
    include_lineno: bool


# The files are written so that two branches adding messages merge cleanly: entries sorted by id, locations
# without line numbers (an edit above a message would otherwise touch its entry), and a fixed creation date.
PO_LAYOUT: PoLayout = {"width": 120, "sort_output": True, "include_lineno": False}
CREATION_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def extract() -> Catalog:
    template = Catalog(project="asisten-prakerja", version="1", locale="id", fuzzy=False,
                       creation_date=CREATION_DATE)
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            template.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _write(path: Path, catalog: Catalog, writer: Callable[[BinaryIO, Catalog], None]) -> bytes:
    buffer = io.BytesIO()
    writer(buffer, catalog)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def translations(catalog: Catalog) -> dict[tuple[object, str | None], object]:
    """What a catalog tells gettext: (id, context) -> translation, for the messages a `.mo` carries.

    `write_mo` leaves out the header entry, untranslated and fuzzy messages, so they are left out here too.
    """
    def plain(value: object) -> object:  # read_mo gives plural forms as lists, read_po as tuples
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        (plain(message.id), message.context): plain(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
        and not (isinstance(message.string, tuple) and not all(message.string))
    }


def mo_is_current(mo: Path, catalog: Catalog) -> bool:
    if not mo.exists():
        return False
    with mo.open("rb") as handle:
        return translations(read_mo(handle)) == translations(catalog)


def update() -> None:
    template = extract()
    _write(LOCALES_DIR / f"{DOMAIN}.pot", template, lambda b, c: write_po(b, c, **PO_LAYOUT))
    for locale in TRANSLATED_LOCALES:
        catalog = read_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header entry: a fuzzy header would be left out of the .mo
        catalog.project, catalog.version = "asisten-prakerja", "1"
        catalog.creation_date = CREATION_DATE
        _write(po_path(locale), catalog, lambda b, c: write_po(b, c, **PO_LAYOUT))
    compile_all()


def compile_all() -> None:
    for locale in TRANSLATED_LOCALES:
        catalog = read_catalog(locale)
        (po_path(locale).with_suffix(".mo")).write_bytes(compiled(catalog))


def problems() -> Iterator[str]:
    template = extract()
    for locale in TRANSLATED_LOCALES:
        catalog = read_catalog(locale)
        for message in template:
            if not message.id:
                continue
            translated = catalog.get(message.id)
            if translated is None or not translated.string or (
                isinstance(translated.string, tuple) and not all(translated.string)
            ):
                where = ", ".join(f"{f}:{n}" for f, n in message.locations)
                yield f"{locale}: no translation for {message.id!r} ({where})"
            elif translated.fuzzy:
                yield f"{locale}: fuzzy translation for {message.id!r}"
        mo = po_path(locale).with_suffix(".mo")
        if not mo_is_current(mo, catalog):
            yield f"{locale}: {mo.relative_to(ROOT)} is stale: run python -m locales.catalog compile"


def missing(locale: str = "en") -> dict[str, object]:
    template, catalog = extract(), read_catalog(locale)
    found: dict[str, object] = {}
    for message in template:
        translated = catalog.get(message.id)
        strings = translated.string if translated is not None else ""
        if message.id and (not strings or (isinstance(strings, tuple) and not all(strings))):
            key = message.id if isinstance(message.id, str) else message.id[0]
            found[key] = ["", ""] if isinstance(message.id, tuple) else ""
    return found


def translate(pairs: dict[str, object], locale: str = "en") -> list[str]:
    """Put translations into the locale's catalog; the ids that the code does not use (nothing written then)."""
    template, catalog = extract(), read_catalog(locale)
    by_key = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in template if m.id}
    unknown = [key for key in pairs if key not in by_key]
    if unknown:
        return unknown
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    for key, value in pairs.items():
        message = catalog.get(by_key[key].id)
        assert message is not None
        message.string = tuple(value) if isinstance(value, list) else str(value)
        message.flags.discard("fuzzy")
    catalog.fuzzy = False
    catalog.creation_date = CREATION_DATE
    _write(po_path(locale), catalog, lambda b, c: write_po(b, c, **PO_LAYOUT))
    compile_all()
    return []


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "missing":
        print(json.dumps(missing(), ensure_ascii=False, indent=1))
        return 0
    if command == "translate" and len(argv) == 2:
        source = sys.stdin.read() if argv[1] == "-" else Path(argv[1]).read_text(encoding="utf-8")
        unknown = translate(json.loads(source))
        for key in unknown:
            print(f"not a message id of the code: {key!r}", file=sys.stderr)
        return 1 if unknown else 0
    if command == "update":
        update()
        return 0
    if command == "compile":
        compile_all()
        return 0
    if command == "check":
        found = list(problems())
        for line in found:
            print(line)
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
