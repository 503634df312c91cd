"""After an import the NIK exists nowhere in clear, and an applicant can link with the imported phone and NIK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import open_app
from bot.demo import DemoApplicant
from bot.importer import ImportRejected, import_lines, run_import
from bot.settings import load_settings
from storage import open_storage
from tests.auxil.driver import ChatDriver
from tests.importer.conftest import PEPPER, as_row, csv_text

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]


def database_bytes(database: Path) -> bytes:
    """The database file with its WAL and shared memory, whichever exist."""
    return b"".join(p.read_bytes() for p in sorted(database.parent.glob(database.name + "*")))


def test_nik_is_nowhere_after_a_cli_import(database: Path, persons: list[DemoApplicant], write: Write,
                                           run: Run) -> None:
    rows = [as_row(p) for p in persons]
    code, out, err = run("import", write(rows))
    assert code == 0
    rows[1] = as_row(persons[1], phone=persons[0].nik)  # a NIK in the wrong column is not echoed either
    rows[2] = as_row(persons[2], nik=persons[2].nik[:15] + "x")
    code, out2, err2 = run("import", write(rows))
    assert code == 1 and "baris 3, kolom phone" in err2 and "baris 4, kolom nik" in err2
    captured = out + err + out2 + err2
    stored = database_bytes(database)
    for p in persons:
        assert p.nik not in captured
        assert p.nik.encode() not in stored
        assert p.phone.encode() in stored or p.phone[1:].encode() in stored  # the check can see data at all


async def test_nik_is_not_in_database_or_wal_while_open(tmp_path: Path, persons: list[DemoApplicant]) -> None:
    database = tmp_path / "open.sqlite3"
    storage = await open_storage(database)
    try:
        counts = await import_lines(storage, csv_text([as_row(p) for p in persons]).splitlines(keepends=True),
                                    PEPPER)
        assert counts.new == len(persons)
        with pytest.raises(ImportRejected):
            await import_lines(storage, csv_text([as_row(persons[0], balance="-1")]).splitlines(), PEPPER)
        assert (tmp_path / "open.sqlite3-wal").exists()
        stored = database_bytes(database)
        assert all(p.nik.encode() not in stored for p in persons)
    finally:
        await storage.close()


async def test_linking_works_with_the_imported_phone_and_nik(tmp_path: Path, persons: list[DemoApplicant],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    siti = next(p for p in persons if p.card_number)
    path = tmp_path / "registry.csv"
    path.write_text(csv_text([as_row(p, phone="0" + p.phone[3:]) for p in persons]), encoding="utf-8")
    settings = load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=PEPPER)
    assert await run_import(settings, path) == 0
    assert "6 baru" in capsys.readouterr().out
    app = await open_app(settings)
    try:
        chat = ChatDriver(app.router, user_id="4242")
        await chat.link(siti.phone, siti.nik)
        assert "Berhasil" in chat.text_out and siti.name.split()[0] in chat.text_out
        await chat.command("kartu")
        assert siti.card_number is not None and siti.card_number[-4:] not in chat.text_out
        assert "belum diumumkan" in chat.text_out  # imported, not announced: the card comes with the result
        await app.storage.waves.publish(siti.wave)
        await chat.command("kartu")
        assert siti.card_number[-4:] in chat.text_out
        assert "Rp3.550.000" in chat.text_out
    finally:
        await app.close()
