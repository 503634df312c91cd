"""`python -m bot import` and `demo-data` end to end: a real SQLite file, all or nothing, counts, re-import."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import bot.importer
from bot.demo import DemoApplicant
from tests.importer.conftest import as_row

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]


def stored(database: Path) -> set[tuple[object, ...]]:
    """(phone, name, card, balance, wave, result) of every wave record in the database."""
    with sqlite3.connect(database) as db:
        return set(db.execute(
            "SELECT a.phone, a.name, a.card_number, a.balance, r.wave, r.result"
            " FROM accounts a JOIN wave_results r ON r.account_id = a.id"
        ))


def expected(persons: list[DemoApplicant]) -> set[tuple[object, ...]]:
    return {(p.phone, p.name, p.card_number, p.balance, p.wave, p.result.value if p.result else None)
            for p in persons}


def count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_good_file_is_imported_and_counted(database: Path, persons: list[DemoApplicant], write: Write,
                                           run: Run) -> None:
    code, out, err = run("import", write([as_row(p) for p in persons]))
    assert code == 0, err
    assert "Impor selesai: 6 baris; 6 baru, 0 diperbarui, 0 tidak berubah." in out
    assert stored(database) == expected(persons)
    assert "diperiksa" not in err  # a small file prints no progress


def test_reimport_is_unchanged_and_a_new_balance_is_an_update(database: Path, persons: list[DemoApplicant],
                                                              write: Write, run: Run) -> None:
    rows = [as_row(p) for p in persons]
    assert run("import", write(rows))[0] == 0
    code, out, _ = run("import", write(rows))
    assert code == 0 and "0 baru, 0 diperbarui, 6 tidak berubah" in out
    lolos = next(i for i, p in enumerate(persons) if p.card_number)
    tidak = next(i for i, p in enumerate(persons) if not p.card_number)
    rows[lolos] = as_row(persons[lolos], balance=1_250_000)
    rows[tidak] = as_row(persons[tidak], result="")  # the registry withdrew an announced result
    code, out, _ = run("import", write(rows))
    assert code == 0 and "0 baru, 2 diperbarui, 4 tidak berubah" in out
    assert count(database, "accounts") == 6  # the same accounts, never duplicated
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT balance FROM accounts WHERE phone = ?", (persons[lolos].phone,)).fetchone() == (
            1_250_000,)
        assert db.execute("SELECT r.result FROM wave_results r JOIN accounts a ON a.id = r.account_id"
                          " WHERE a.phone = ?", (persons[tidak].phone,)).fetchone() == (None,)


def test_new_and_known_accounts_in_one_file(database: Path, persons: list[DemoApplicant], write: Write,
                                            run: Run) -> None:
    assert run("import", write([as_row(p) for p in persons[:3]]))[0] == 0
    code, out, _ = run("import", write([as_row(p) for p in persons[3:]] + [as_row(p) for p in persons[:3]]))
    assert code == 0 and "3 baru, 0 diperbarui, 3 tidak berubah" in out
    assert stored(database) == expected(persons)  # each new wave record points at its own account


def test_one_nik_over_several_waves_is_one_account(database: Path, persons: list[DemoApplicant], write: Write,
                                                   run: Run) -> None:
    p = next(p for p in persons if p.card_number)
    rows = [as_row(p, wave=1, result="tidak_lolos", card_number="", balance=""), as_row(p, wave=2),
            as_row(p, wave=3, result="", card_number="", balance="")]
    code, out, err = run("import", write(rows))
    assert code == 0, err
    assert "3 baru" in out
    assert count(database, "accounts") == 1
    assert stored(database) == {(p.phone, p.name, p.card_number, p.balance, 1, "tidak_lolos"),
                                (p.phone, p.name, p.card_number, p.balance, 2, "lolos"),
                                (p.phone, p.name, p.card_number, p.balance, 3, None)}


def test_one_bad_row_among_good_ones_imports_nothing(database: Path, persons: list[DemoApplicant], write: Write,
                                                     run: Run) -> None:
    rows = [as_row(p) for p in persons]
    rows[2] = as_row(persons[2], phone="12345")
    code, out, err = run("import", write(rows))
    assert code == 1 and out == ""
    assert "Impor dibatalkan, tidak ada data yang diubah." in err
    assert "baris 4, kolom phone: Nomor HP tidak valid" in err
    assert count(database, "accounts") == 0 and count(database, "wave_results") == 0


def test_phone_in_any_indonesian_form_is_stored_as_e164(database: Path, persons: list[DemoApplicant],
                                                        write: Write, run: Run) -> None:
    forms = [lambda e164: "0" + e164[3:], lambda e164: e164[1:],
             lambda e164: f"+62 {e164[3:6]}-{e164[6:10]}-{e164[10:]}"]
    rows = [as_row(p, phone=form(p.phone)) for p, form in zip(persons, forms, strict=False)]
    assert run("import", write(rows))[0] == 0
    assert stored(database) == expected(persons[:3])


def test_card_number_of_another_account_in_the_database_is_refused(database: Path, persons: list[DemoApplicant],
                                                                   write: Write, run: Run) -> None:
    first, second = [p for p in persons if p.card_number][:2]
    assert run("import", write([as_row(first)]))[0] == 0
    other = next(p for p in persons if not p.card_number)
    code, _, err = run("import", write([as_row(other), as_row(second, card_number=first.card_number)]))
    assert code == 1
    assert "baris 3, kolom card_number: Nomor kartu ini sudah terdaftar untuk akun lain" in err
    assert count(database, "accounts") == 1


def test_errors_are_capped_with_a_count_of_the_rest(database: Path, persons: list[DemoApplicant], write: Write,
                                                    run: Run) -> None:
    rows = [as_row(persons[0], wave=wave, phone="0") for wave in range(1, 61)]
    code, _, err = run("import", write(rows))
    assert code == 1
    assert err.count("kolom phone") == bot.importer.MAX_LISTED
    assert "… dan 10 kesalahan lain" in err


def test_missing_file_directory_and_pepper_get_one_line(database: Path, tmp_path: Path, run: Run,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("import", tmp_path / "nope.csv")
    assert code == 1 and err.strip().startswith("File tidak ditemukan") and len(err.strip().splitlines()) == 1
    code, _, err = run("import", tmp_path)
    assert code == 1 and "folder, bukan file CSV" in err and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("NIK_PEPPER")
    code, _, err = run("import", tmp_path / "nope.csv")
    assert code == 2 and "NIK_PEPPER" in err and len(err.strip().splitlines()) == 1


def test_progress_is_printed_for_large_files(database: Path, persons: list[DemoApplicant], write: Write, run: Run,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.importer, "PROGRESS_EVERY_ROWS", 2)
    monkeypatch.setattr(bot.importer, "PROGRESS_EVERY_SECONDS", 0.0)
    code, _, err = run("import", write([as_row(p) for p in persons]))
    assert code == 0
    assert "2 baris diperiksa…" in err and "6 baris diperiksa; menyimpan ke basis data…" in err


def test_demo_data_round_trip(database: Path, tmp_path: Path, run: Run) -> None:
    path = tmp_path / "demo.csv"
    code, out, _ = run("demo-data", path, "--accounts", 300, "--seed", 5)
    assert code == 0 and "300 baris" in out
    first = path.read_bytes()
    assert first.count(b"\n") == 301
    assert run("demo-data", path, "--accounts", 300, "--seed", 5)[0] == 0
    assert path.read_bytes() == first  # deterministic for a seed
    code, out, err = run("import", path)
    assert code == 0, err
    assert "300 baris; 300 baru" in out
    assert run("demo-data", path, "--accounts", 0)[0] == 2


def test_first_import_builds_the_same_schema_and_links_rows_to_their_accounts(
    database: Path, persons: list[DemoApplicant], write: Write, run: Run
) -> None:
    """The first import into an empty registry drops the tables' secondary indexes and builds them again: the
    schema after it is the one before (unique card numbers still enforced), every wave record on its account."""
    several = next(p for p in persons if p.card_number)
    rows = [as_row(p) for p in persons] + [as_row(several, wave=9, result="", card_number="", balance="")]
    assert run("import", write([as_row(persons[0])], name="one.csv"))[0] == 0  # creates the database
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM wave_results")
        db.execute("DELETE FROM accounts")  # empty again: the next import takes the first-import path
        schema = db.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall()
    code, out, err = run("import", write(rows))
    assert code == 0, err
    assert f"{len(rows)} baru, 0 diperbarui, 0 tidak berubah" in out
    assert stored(database) == expected(persons) | {(several.phone, several.name, several.card_number,
                                                     several.balance, 9, None)}
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall() == schema
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE accounts SET card_number = ? WHERE card_number IS NULL", (several.card_number,))
    code, out, _ = run("import", write(rows))
    assert code == 0 and f"0 baru, 0 diperbarui, {len(rows)} tidak berubah" in out
