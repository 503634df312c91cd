"""The operator's command line: labelled wave columns, a wave's announcement time, the import's closing hint,
`admin import` as the alias of `import`, and every --help naming the settings it needs (issue 12: CLI polish)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import _parser
from bot.demo import DemoApplicant, applicants
from storage import open_storage
from storage.models import AuditEntry
from tests.importer.conftest import PEPPER, as_row, csv_text

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.setenv("NIK_PEPPER", PEPPER)
    return path


@pytest.fixture
def people() -> list[DemoApplicant]:
    return list(applicants(6, seed=7, waves=2))



def test_import_says_which_waves_wait_to_be_published(database: Path, tmp_path: Path, people: list[DemoApplicant],
                                                      run: Run) -> None:
    data = tmp_path / "registry.csv"
    data.write_text(csv_text([as_row(p) for p in people]))
    code, out, _ = run("import", data)
    assert code == 0
    assert out.splitlines()[-1].startswith("Hasil gelombang 1, 2 belum diumumkan. Umumkan dengan: python -m bot"
                                           " admin publish NOMOR --yes")
    code, out, _ = run("admin", "import", data)  # the alias: the same import, the same words
    assert code == 0 and "6 tidak berubah" in out and "Hasil gelombang 1, 2 belum diumumkan" in out
    assert run("admin", "publish", "1", "--yes")[0] == 0
    code, out, _ = run("import", data)
    assert "Hasil gelombang 2 belum diumumkan" in out


def test_waves_in_labelled_columns_and_a_scheduled_announcement(database: Path, tmp_path: Path,
                                                                people: list[DemoApplicant],
                                                                run: Run) -> None:
    data = tmp_path / "registry.csv"
    data.write_text(csv_text([as_row(p) for p in people]))
    assert run("import", data)[0] == 0
    code, out, _ = run("admin", "schedule", "2", "25-09-2099 17:00")
    assert code == 0 and out.strip() == "Pengumuman gelombang 2 dijadwalkan 25 September 2099, 17.00 WIB."
    code, out, _ = run("admin", "waves")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split("  ")[0] == "gelombang" and "tidak lolos" in header and "pengumuman" in header
    columns = {label: header.index(label) for label in ("akun", "lolos", "pengumuman")}
    wave2 = next(r for r in rows if r.split()[0] == "2")
    assert wave2[columns["pengumuman"]:].strip() == "jadwal 25 September 2099, 17.00 WIB"
    counts = [int(n) for n in wave2.split()[1:5]]
    assert counts[0] == sum(p.wave == 2 for p in people)  # the "akun" column holds the accounts
    assert [(e.actor, e.subject) for e in audit(database) if e.action == "wave_time"] == [("cli", "wave:2")]


def audit(database: Path) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        storage = await open_storage(database)
        try:
            return await storage.audit.recent()
        finally:
            await storage.close()

    return asyncio.run(read())


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*prefix, name), child
                yield from subcommands(child, (*prefix, name))


def test_every_help_names_the_settings_it_needs() -> None:
    found = dict(subcommands(_parser()))
    assert {"chat", "run", "serve", "sender", "import", "backup", "restore", "whoami", "import-catalogue",
            "demo-data", "admin"} <= {name[0] for name in found}
    for name, parser in found.items():
        text = parser.format_help()
        assert "settings:" in text, name
    assert "TELEGRAM_BOT_TOKEN" in found[("run",)].format_help()
    assert "NIK_PEPPER" in found[("admin", "import")].format_help()
    assert "PUBLIC_URL" in found[("serve",)].format_help()
    assert "WHATSAPP_CODES_PER_HOUR" in found[("serve",)].format_help()  # issue 14.5's limits
    assert "RETENTION_AUDIT_DAYS" in found[("retention",)].format_help()
