"""The programme's common questions and their answers, as data: the shipped files, or whatever an admin imports.

Three files make one FAQ book: `faq.toml` (each entry's id, source, date checked, whether it is sample content, the
bot commands it offers, whether the bot completes it at run time), and `<language>/faq.toml` for every supported
language (its title, the questions people ask, the answer, links to the official place to go next). `load_faq`
validates them together, all or nothing, with the file, line and field of every problem, so an admin import can
hand it the uploaded files as they are. `FaqSource` is where the bot gets its current book: the shipped files by
default (`ShippedFaq`); a database-backed source (the admin import) implements the same one method.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

from handlers.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES
from handlers.understanding.files import DataError, problem, validate
from handlers.understanding.models import FaqFact, FaqFacts, FaqText, FaqTexts

FACTS_FILE = "faq.toml"
DATA_PACKAGE = "handlers.understanding"


def text_file(locale: str) -> str:
    return f"{locale}/faq.toml"


FAQ_FILES = (FACTS_FILE, *(text_file(locale) for locale in SUPPORTED_LOCALES))


@dataclass(frozen=True, slots=True)
class FaqEntry:
    fact: FaqFact
    texts: Mapping[str, FaqText]  # locale -> the entry in that language

    def text(self, locale: str) -> FaqText:
        return self.texts.get(locale) or self.texts[DEFAULT_LOCALE]


@dataclass(frozen=True, slots=True)
class FaqBook:
    entries: Mapping[str, FaqEntry]  # by id, in the order of faq.toml
    version: str  # digest of the files: what the understanding compiled is kept per version


def load_faq(files: Mapping[str, str]) -> FaqBook:
    """A FAQ book from the text of its files (names as in FAQ_FILES); DataError lists every problem."""
    missing = [name for name in FAQ_FILES if name not in files]
    if missing:
        raise DataError([f"{name}: missing (a FAQ needs {', '.join(FAQ_FILES)})" for name in missing])
    problems: list[str] = []
    try:
        facts: FaqFacts | None = validate(FaqFacts, FACTS_FILE, files[FACTS_FILE])
    except DataError as exc:  # the language files are still checked: every problem is listed at once
        problems.extend(exc.problems)
        facts = None
    seen: set[str] = set()
    for index, fact in enumerate(facts.entry if facts else ()):
        if fact.id in seen:
            problems.append(problem(FACTS_FILE, files[FACTS_FILE], ("entry", index, "id"),
                                    f"id {fact.id!r} is used twice"))
        seen.add(fact.id)
    texts: dict[str, dict[str, FaqText]] = {}
    for locale in SUPPORTED_LOCALES:
        name = text_file(locale)
        try:
            texts[locale] = validate(FaqTexts, name, files[name]).root
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        if facts is None:
            continue
        for entry_id in texts[locale].keys() - seen:
            problems.append(problem(name, files[name], (entry_id,), f"no entry {entry_id!r} in {FACTS_FILE}"))
        for entry_id in sorted(seen - texts[locale].keys()):
            problems.append(f"{name}: entry {entry_id!r} of {FACTS_FILE} has no text in this language")
    if problems or facts is None:
        raise DataError(problems)
    digest = hashlib.sha256("\0".join(files[name] for name in FAQ_FILES).encode()).hexdigest()[:16]
    entries = {fact.id: FaqEntry(fact, {locale: texts[locale][fact.id] for locale in SUPPORTED_LOCALES})
               for fact in facts.entry}
    return FaqBook(entries, digest)


def shipped_files() -> dict[str, str]:
    data = resources.files(DATA_PACKAGE) / "data"
    return {name: (data / name).read_text(encoding="utf-8") for name in FAQ_FILES}


@cache
def shipped_faq() -> FaqBook:
    """The FAQ shipped with the package (handlers/understanding/data/), loaded once per process."""
    return load_faq(shipped_files())


class FaqSource(Protocol):
    """Where the bot reads the current FAQ. Called per question: keep it cheap (cache, check a version)."""

    async def book(self) -> FaqBook: ...


class ShippedFaq:
    """The default source: the files shipped with the package."""

    async def book(self) -> FaqBook:
        return shipped_faq()
