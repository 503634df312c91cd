"""Reading the understanding's data files: TOML parsed and validated with pydantic, every error with its place.

A file an admin replaces must fail loudly and precisely: a syntax error names its line and column (tomllib says
where), a wrong or missing field names the line it is on (found by walking the file along the field's path) and the
field's path, and the message says what is wrong. Nothing is half-loaded: the caller gets a model or a DataError.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class DataError(ValueError):
    """A data file that cannot be used. `problems` lists each as 'file, line N (field): what is wrong'."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def parse_toml(name: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message already ends with "(at line N, column M)"
        raise DataError([f"{name}: not valid TOML: {exc}"]) from None


def validate(model: type[Model], name: str, text: str, data: dict[str, Any] | None = None,
             context: dict[str, Any] | None = None) -> Model:
    """`text` (the file `name`) as `model`, or a DataError naming each problem's line and field."""
    data = parse_toml(name, text) if data is None else data
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise DataError([problem(name, text, error["loc"], error["msg"], missing=error["type"] == "missing")
                         for error in exc.errors()]) from None


def problem(name: str, text: str, loc: Sequence[str | int], message: str, *, missing: bool = False) -> str:
    """One line of a DataError: where (file, line, field path) and what. A missing field is placed at the line of
    the table that lacks it."""
    line = line_of(text, loc[:-1] if missing else loc)
    where = f"{name}, line {line}" if line is not None else name
    path = field_path(loc)
    return f"{where} ({path}): {message}" if path else f"{where}: {message}"


def field_path(loc: Sequence[str | int]) -> str:
    """('intents', 'balance', 'examples', 3) -> 'intents.balance.examples[3]'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_STRING_ITEM = re.compile(r"""^\s*(?:"|')""")
_HEADER = re.compile(r"""^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$""")


def _names(line: str, key: str) -> bool:
    """Does this line name `key`: as `key = ...`, or as a part of a `[table.key]` / `[[key]]` header?"""
    header = _HEADER.match(line)
    if header is not None:
        return key in (part.strip().strip("\"'") for part in header.group(1).split("."))
    return re.match(rf"""^\s*["']?{re.escape(key)}["']?\s*=""", line) is not None


def line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """The (1-based) line of a field in a TOML file, found by following its path: a key is the next line that
    names it (`key =`, `[table.key]`, `[[key]]`), an index the n-th `[[array]]` header or the n-th string item
    written one to a line. Best effort: the line of the deepest part found, None if not even the first is."""
    lines = text.splitlines()
    position, found, previous = 0, None, None
    for part in loc:
        if isinstance(part, str):
            hit = next((i for i in range(position, len(lines)) if _names(lines[i], part)), None)
            if hit is None:
                break
            position, found, previous = hit, hit, part
            continue
        headers = [i for i in range(position, len(lines))
                   if previous is not None and _HEADER.match(lines[i]) and lines[i].strip().startswith("[[")
                   and _names(lines[i], previous)]
        if len(headers) > part:
            position = found = headers[part]
            continue
        items = [i for i in range(position + 1, len(lines)) if _STRING_ITEM.match(lines[i])]
        if len(items) <= part:
            break
        position = found = items[part]
    return None if found is None else found + 1
