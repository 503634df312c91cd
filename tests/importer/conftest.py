"""Import fixtures: the CLI's environment (a real SQLite file in tmp_path, a pepper) and CSV files to feed it."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.demo import DemoApplicant, applicants
from bot.importer import HEADER

PEPPER = "import-test-pepper-0123456789"
Row = Sequence[object]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment `python -m bot import` reads; the working folder is tmp_path (no stray `.env`)."""
    path = tmp_path / "data" / "prakerja.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("NIK_PEPPER", PEPPER)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    return path


@pytest.fixture
def persons() -> list[DemoApplicant]:
    """Six generated applicants (valid NIK shapes), half lolos, in waves 1-3."""
    return list(applicants(6, seed=7))


def as_row(p: DemoApplicant, **changes: object) -> list[object]:
    row = {"nik": p.nik, "phone": p.phone, "name": p.name, "wave": p.wave,
           "result": p.result.value if p.result else "", "card_number": p.card_number or "",
           "balance": "" if p.balance is None else p.balance}
    row.update(changes)
    return [row[column] for column in HEADER]


def csv_text(rows: Sequence[Row], header: Sequence[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write(rows: Sequence[Row], name: str = "import.csv", header: Sequence[str] = HEADER) -> Path:
        path = tmp_path / name
        path.write_text(csv_text(rows, header), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `python -m bot ARGS...`; returns (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            code = main([str(a) for a in args])
        finally:  # main() points logging at this test's captured stderr: put it back for the next test
            root.handlers[:], root.level = handlers, level
        out, err = capsys.readouterr()
        return code, out, err

    return run
