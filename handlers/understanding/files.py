"""Reading the understanding's data files: TOML parsed and validated with pydantic, every error with its place.

A file an admin replaces must fail loudly and precisely: a syntax error names its line and column (tomllib says
where), a wrong or missing field names the line and column it is on (found by walking the file along the field's
path) and the field's path, and the message says what is wrong, in Bahasa Indonesia (or the admin's language).
Nothing is half-loaded: the caller gets a model or a DataError.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from handlers.i18n import DEFAULT_LOCALE, N_, Translator, translator

Model = TypeVar("Model", bound=BaseModel)
Loc = Sequence[str | int]

_AT = N_("baris {line}, kolom {column}: {problem}")  # the same words as the registry import's problems
_NOT_TOML = N_("Penulisan TOML salah ({reason}). Periksa tanda kutip, kurung, dan tanda = di sini.")
_INVALID = N_("Tidak valid: {reason}")
# pydantic's error types, in words an admin reads; other types fall back to _INVALID with pydantic's English.
PYDANTIC_MESSAGES = {
    "missing": N_("Wajib diisi."),
    "extra_forbidden": N_("Kolom tidak dikenal (salah ketik?)."),
    "string_type": N_("Harus teks dalam tanda kutip."),
    "string_too_short": N_("Tidak boleh kosong."),
    "string_too_long": N_("Terlalu panjang: paling banyak {max_length} karakter."),
    "too_short": N_("Terlalu sedikit: paling sedikit {min_length}."),
    "too_long": N_("Terlalu banyak: paling banyak {max_length}."),
    "list_type": N_("Harus daftar dalam kurung siku [ … ]."),
    "dict_type": N_("Harus tabel (bagian [ … ] atau {{ … }})."),
    "model_type": N_("Harus tabel (bagian [ … ] atau {{ … }})."),
    "bool_type": N_("Harus true atau false (tanpa tanda kutip)."),
    "bool_parsing": N_("Harus true atau false (tanpa tanda kutip)."),
    "enum": N_("Harus salah satu dari: {expected}."),
    "literal_error": N_("Harus salah satu dari: {expected}."),
    **dict.fromkeys(("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
                    N_("Tanggal harus ditulis TTTT-BB-HH tanpa tanda kutip, mis. 2026-12-06.")),
}


def data_error(message: str, **params: object) -> PydanticCustomError:
    """A validator's error whose message is an Indonesian msgid: the type carries the msgid, the context its
    parameters, so `DataProblem` can show it in the reader's language."""
    return PydanticCustomError(message, message, params)


@dataclass(frozen=True, slots=True)
class DataProblem:
    """One thing wrong in a data file: where (file, line, column, field path) and what (a msgid and its values)."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    params: tuple[tuple[str, object], ...] = ()

    def text(self, t: Translator | None = None) -> str:
        t = t or translator(DEFAULT_LOCALE)
        what = t.gettext(self.message)
        what = what.format(**dict(self.params)) if self.params else what
        if self.field:
            what = f"{self.field}: {what}"
        if self.line is None:
            return f"{self.file}: {what}" if self.file else what
        return f"{self.file}, " + t.gettext(_AT).format(line=self.line, column=self.column or 1, problem=what)


class DataError(ValueError):
    """A data file that cannot be used. `problems` lists each with its place; `lines(t)` says them."""

    def __init__(self, problems: Iterable[DataProblem | str]) -> None:
        # A str: a problem already said in full (the shipped language files' cross-checks, for developers).
        self.problems = [p if isinstance(p, DataProblem) else DataProblem("", None, None, "", p) for p in problems]
        super().__init__("\n".join(p.text() for p in self.problems))

    def lines(self, t: Translator | None = None) -> list[str]:
        return [p.text(t) for p in self.problems]


def parse_toml(name: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line N, column M)" (or "at end of document")
        reason = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)$", reason)
        line, column = (int(where[1]), int(where[2])) if where else (text.count("\n") + 1, None)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", reason)
        raise DataError([DataProblem(name, line, column, "", _NOT_TOML, (("reason", reason),))]) from None


def validate(model: type[Model], name: str, text: str, data: Any = None,
             context: dict[str, Any] | None = None, prefix: Loc = ()) -> Model:
    """`data` (parsed from `text`, the file `name`; at `prefix` in it) as `model`, or a DataError naming each
    problem's line, column and field."""
    data = parse_toml(name, text) if data is None else data
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise DataError([pydantic_problem(name, text, error, prefix) for error in exc.errors()]) from None


def pydantic_problem(name: str, text: str, error: ErrorDetails, prefix: Loc = ()) -> DataProblem:
    kind, ctx = error["type"], dict(error.get("ctx") or {})
    if kind in PYDANTIC_MESSAGES:
        message = PYDANTIC_MESSAGES[kind]
    elif "{" in kind or " " in kind:  # raised with data_error: the type is the msgid
        message = kind
    else:
        message, ctx = _INVALID, {"reason": error["msg"]}
    return problem(name, text, (*prefix, *error["loc"]), message, missing=kind == "missing",
                   key=kind == "extra_forbidden", **ctx)


def problem(name: str, text: str, loc: Loc, message: str, *, missing: bool = False, key: bool = False,
            **params: object) -> DataProblem:
    """One problem of a DataError at field `loc` (the column of its value; with `key`, of its name). A missing
    field is placed at the table that lacks it."""
    place = position_of(text, loc[:-1] if missing else loc)
    line, column = place if place is not None else (None, None)
    if missing:
        column = 1
    elif key and line is not None:
        written = text.splitlines()[line - 1]
        column = len(written) - len(written.lstrip()) + 1
    return DataProblem(name, line, column, field_path(loc), message, tuple(params.items()))


def field_path(loc: Loc) -> str:
    """('intents', 'balance', 'examples', 3) -> 'intents.balance.examples[3]'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
_STRING_ITEM = re.compile(r"""^\s*(?:"|')""")
_HEADER = re.compile(r"""^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$""")


def _names(line: str, key: str) -> bool:
    """Does this line name `key`: as `key = ...`, or as a part of a `[table.key]` / `[[key]]` header?"""
    header = _HEADER.match(line)
    if header is not None:
        return key in (part.strip().strip("\"'") for part in header.group(1).split("."))
    return re.match(rf"""^\s*["']?{re.escape(key)}["']?\s*=""", line) is not None


def _value_column(line: str, key: str | None = None) -> int:
    """The (1-based) column where a line's value starts (after `key =`), else where its text starts."""
    match = re.search(rf"""(?:^|[{{,\s])["']?{re.escape(key)}["']?\s*=\s*""", line) if key else None
    if match is None and not _HEADER.match(line):
        match = re.match(r"""^\s*[^=\s]+\s*=\s*""", line)
    if match is not None:
        return match.end() + 1
    return len(line) - len(line.lstrip()) + 1


def position_of(text: str, loc: Loc) -> tuple[int, int] | None:
    """The (1-based) line and column of a field in a TOML file, found by following its path: a key is the next line
    that names it (`key =`, `[table.key]`, `[[key]]`) or, inside an inline table, its `key =` on the line reached;
    an index the n-th `[[array]]` header (the search then stays inside that table), the n-th string of an inline
    array, or the n-th string item written one to a line. Best effort: the place of the deepest part found, None if
    not even the first is."""
    lines = text.splitlines()
    position, end, found, column, previous = 0, len(lines), None, 1, None
    for part in loc:
        if isinstance(part, str):
            hit = next((i for i in range(position, end) if _names(lines[i], part)), None)
            if hit is None:
                if found is not None and re.search(rf"""[{{,\s]["']?{re.escape(part)}["']?\s*=""", lines[found]):
                    column = _value_column(lines[found], part)  # a key of an inline table on this line
                    continue
                break
            position, found, previous = hit, hit, part
            column = _value_column(lines[hit], part)
            continue
        headers = [i for i in range(position, end)
                   if previous is not None and _HEADER.match(lines[i]) and lines[i].strip().startswith("[[")
                   and _names(lines[i], previous)]
        if len(headers) > part:
            position = found = headers[part]
            end = headers[part + 1] if len(headers) > part + 1 else end
            column = 1
            continue
        if found is None:
            break
        value = lines[found][column - 1:]
        if value.startswith("["):  # an inline array: the n-th string on this line (or a table's n-th `{`)
            starts = [m.start() for m in _STRING.finditer(value)]
            tables = [i for i, c in enumerate(value) if c == "{"]
            items = tables or starts
            if len(items) > part and (tables or not value.rstrip().endswith("[")):
                column += items[part]
                continue
        items = []
        for i in range(found + 1, end):
            if lines[i].strip().startswith("]") or _HEADER.match(lines[i]):
                break
            if _STRING_ITEM.match(lines[i]) or lines[i].lstrip().startswith("{"):
                items.append(i)
        if len(items) <= part:
            break
        position = found = items[part]
        column = len(lines[found]) - len(lines[found].lstrip()) + 1
    return None if found is None else (found + 1, column)
