"""The programme's common questions and their answers, as data: the shipped file, or whatever an admin imports.

One file makes one FAQ book, `faq.toml`: an `[[entry]]` per question with its id, source, date checked, whether it
is sample content, the bot commands it offers and whether the bot completes it at run time, then its text in every
supported language (`[entry.text.id]`, `[entry.text.en]`: the title, the questions people ask, the answer, links to
the official place to go next). `load_faq` validates it all or nothing, listing every problem with its line,
column and field in Bahasa Indonesia (or the admin's language), so an admin import can hand it the uploaded file as
it is. `FaqSource` is where the bot gets its current book: the shipped file by default (`ShippedFaq`); the admin
import's is stored in the database (handlers/faq.py, `StoredFaq`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Protocol

from handlers.i18n import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES
from handlers.understanding.files import DataError, DataProblem, parse_toml, problem, validate
from handlers.understanding.models import FaqFact, FaqFile, FaqFileEntry, FaqText

FAQ_FILE = "faq.toml"
DATA_PACKAGE = "handlers.understanding"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}

_NOT_UTF8 = N_("Bukan teks UTF-8. Simpan berkas sebagai teks biasa UTF-8 (.toml).")
_ID_TWICE = N_("id “{id}” sudah dipakai entri di baris {other}: setiap entri punya id sendiri.")
_LANGUAGE_MISSING = N_("Teks {language} tidak ada: tambahkan bagian [entry.text.{locale}].")
_LANGUAGE_UNKNOWN = N_("Bahasa “{locale}” tidak dikenal. Yang ada: {known}.")
_QUESTION_TWICE = N_("Pertanyaan “{question}” sudah ada di entri “{other}” (baris {line}): satu pertanyaan untuk"
                     " satu jawaban.")
_NO_SOURCE = N_("Sumber harus menyebut alamat https halaman tempat fakta diperiksa, atau tandai entri dengan"
                " sample = true.")
_FUTURE = N_("Tanggal pemeriksaan {date} ada di masa depan.")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    fact: FaqFact
    texts: Mapping[str, FaqText]  # locale -> the entry in that language

    def text(self, locale: str) -> FaqText:
        return self.texts.get(locale) or self.texts[DEFAULT_LOCALE]


@dataclass(frozen=True, slots=True)
class FaqBook:
    entries: Mapping[str, FaqEntry]  # by id, in the order of faq.toml
    version: str  # digest of the file: what the understanding compiled is kept per version
    source: str = ""  # the file's text (problems found later, compiling its questions, name their place in it)
    name: str = FAQ_FILE  # the file's name, as problems name it


def _same(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.casefold()))


def decode(data: bytes) -> str:
    """An uploaded file's text; DataError when it is not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise DataError([DataProblem(FAQ_FILE, None, None, "", _NOT_UTF8)]) from None


def load_faq(text: str, *, today: date | None = None, name: str = FAQ_FILE) -> FaqBook:
    """A FAQ book from the text of a faq.toml; DataError lists every problem. With `today` (an import), a date
    checked after it is refused too."""
    top = validate(FaqFile, name, text, parse_toml(name, text))
    problems: list[DataProblem] = []
    entries: list[FaqFileEntry] = []
    lines: dict[str, int] = {}
    questions: dict[tuple[str, str], tuple[str, int]] = {}
    for index, raw in enumerate(top.entry):
        raw_id = raw.get("id")
        entry_id = raw_id if isinstance(raw_id, str) else f"entry[{index}]"
        found: list[DataProblem] = []

        def at(*loc: str | int, message: str, missing: bool = False, index: int = index, found: list[DataProblem]
               = found, **params: Any) -> None:
            found.append(problem(name, text, ("entry", index, *loc), message, missing=missing, **params))

        try:
            entry: FaqFileEntry | None = validate(FaqFileEntry, name, text, raw, prefix=("entry", index))
        except DataError as exc:
            found.extend(exc.problems)
            entry = None
        # The checks across entries read the table as written, so an entry with other problems is checked too.
        here = problem(name, text, ("entry", index), "").line or 0
        if entry_id in lines:
            at("id", message=_ID_TWICE, id=entry_id, other=lines[entry_id])
        lines.setdefault(entry_id, here)
        raw_texts = raw.get("text")
        texts: dict[str, object] = raw_texts if isinstance(raw_texts, dict) else {}
        for locale in SUPPORTED_LOCALES:
            if locale not in texts:
                at("text", locale, message=_LANGUAGE_MISSING, missing=True, locale=locale,
                   language=LANGUAGE_NAMES.get(locale, locale))
        for locale, words in texts.items():
            if locale not in SUPPORTED_LOCALES:
                at("text", locale, message=_LANGUAGE_UNKNOWN, locale=locale, known=", ".join(SUPPORTED_LOCALES))
                continue
            asked = words.get("questions") if isinstance(words, dict) else None
            for i, question in enumerate(asked if isinstance(asked, list) else ()):
                if not isinstance(question, str):
                    continue
                other = questions.setdefault((locale, _same(question)), (entry_id, here))
                if other[0] != entry_id:
                    at("text", locale, "questions", i, message=_QUESTION_TWICE, question=question, other=other[0],
                       line=other[1])
        source, checked = raw.get("source"), raw.get("checked")
        if isinstance(source, str) and source.strip() and raw.get("sample") is not True and "https://" not in source:
            at("source", message=_NO_SOURCE)
        if today is not None and type(checked) is date and checked > today:
            at("checked", message=_FUTURE, date=checked.isoformat())
        problems.extend(replace(p, field=p.field.replace(f"entry[{index}].", f"[{entry_id}] ", 1)) for p in found)
        if entry is not None and not found:
            entries.append(entry)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise DataError(problems)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    book = {entry.id: FaqEntry(entry, dict(entry.text)) for entry in entries}
    return FaqBook(book, digest, text, name)


def shipped_text() -> str:
    return (resources.files(DATA_PACKAGE) / "data" / FAQ_FILE).read_text(encoding="utf-8")


@cache
def shipped_faq() -> FaqBook:
    """The FAQ shipped with the package (handlers/understanding/data/faq.toml), loaded once per process."""
    return load_faq(shipped_text())


class FaqSource(Protocol):
    """Where the bot reads the current FAQ. Called per question: keep it cheap (cache, check a version)."""

    async def book(self) -> FaqBook: ...

    def forget(self) -> None:
        """The FAQ was replaced: read it again at the next question."""


class ShippedFaq:
    """The default source: the file shipped with the package."""

    async def book(self) -> FaqBook:
        return shipped_faq()

    def forget(self) -> None:
        pass

