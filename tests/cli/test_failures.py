"""Every command fails with one clear line on stderr and a non-zero exit code, never a traceback (issue 12.3:
`serve` with Telegram unreachable printed 78 lines; `admin waves` in a fresh folder quietly made `./data/`)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.auxil.cluster import free_port
from tests.auxil.fake_bot_api import FakeBotApi
from tests.cli.processes import SETTING_NAMES, clean_env, start

Run = Callable[..., tuple[int, str, str]]
PEPPER = "failures-pepper-0123456789"


_PROGRESS = re.compile(r"^\S+ \S+ INFO ")  # log lines at INFO (migrations applied, ...): progress, not the failure


def one_line(err: str) -> str:
    """The one line that says what failed (progress lines at INFO may come before it; no warning, no traceback)."""
    lines = [line for line in err.splitlines() if line.strip() and not _PROGRESS.match(line)]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (no .env) and none of the runner's settings."""
    monkeypatch.chdir(tmp_path)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def database(folder: Path) -> Path:
    """A database of the bot (migrated), as `run` or an import leaves it."""
    from storage import open_storage

    path = folder / "bot.sqlite3"

    async def make() -> None:
        await (await open_storage(path)).close()

    asyncio.run(make())
    return path



CASES = [  # (arguments, settings, what the line says)
    (["chat"], {}, "NIK_PEPPER is required"),
    (["chat"], {"NIK_PEPPER": PEPPER}, "no database at data/prakerja.sqlite3 (DATABASE_PATH)"),
    (["run"], {"NIK_PEPPER": PEPPER}, "TELEGRAM_BOT_TOKEN is required"),
    (["serve"], {"NIK_PEPPER": PEPPER}, "serve needs TELEGRAM_BOT_TOKEN or WHATSAPP_TOKEN"),
    (["serve"], {"PORT": "http"}, "invalid setting PORT"),
    (["sender"], {}, "NIK_PEPPER is required"),
    (["import", "missing.csv"], {}, "NIK_PEPPER is required"),
    (["import", "missing.csv"], {"NIK_PEPPER": PEPPER}, "File tidak ditemukan: missing.csv"),
    (["admin", "import", "missing.csv"], {"NIK_PEPPER": PEPPER}, "File tidak ditemukan: missing.csv"),
    (["admin", "waves"], {}, "no database at"),
    (["admin", "publish", "1"], {}, "no database at"),
    (["admin", "status"], {}, "no database at"),
    (["admin", "schedule", "1", "25-09-2099 17:00"], {}, "no database at"),
    (["admin", "broadcast", "Halo"], {}, "no database at"),
    (["demo-data", "no/such/folder/x.csv"], {}, "File tidak dapat ditulis"),
    (["import-catalogue", "missing.csv"], {}, "missing.csv"),
    (["backup", "copy.sqlite3"], {}, "no database at"),
    (["retention"], {}, "no database at"),
    (["retention", "--dry-run"], {"RETENTION_AUDIT_DAYS": "0"}, "invalid setting RETENTION_AUDIT_DAYS"),
    (["backup", "copy.sqlite3"], {"DATABASE_URL": "postgresql://u@127.0.0.1/x"}, "pg_dump"),
    (["restore", "missing.sqlite3"], {}, "no backup file at missing.sqlite3"),
    (["whoami"], {}, "TELEGRAM_BOT_TOKEN is required"),
    (["no-such-command"], {}, "invalid choice"),
    (["admin", "publish", "one"], {}, "invalid int value"),
]


@pytest.mark.parametrize(("args", "settings", "expected"), CASES, ids=[" ".join(c[0]) + str(sorted(c[1]))
                                                                      for c in CASES])
def test_one_line_and_a_non_zero_code(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                      run: Run, capsys: pytest.CaptureFixture[str], args: list[str],
                                      settings: dict[str, str], expected: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    try:
        code, _, err = run(*args)
    except SystemExit as exit_:  # argparse
        code, err = int(exit_.code or 0), capsys.readouterr().err
    assert code != 0
    assert expected in one_line(err)
    assert not (folder / "data").exists()  # nothing made where the command was started


@pytest.mark.parametrize(("args", "expected"), [
    (["admin", "publish", "9", "--yes"], "Gelombang 9 tidak ada"),
    (["admin", "schedule", "1", "kemarin"], "Waktu itu tidak saya kenali"),
    (["admin", "schedule", "1", "01-01-2000 08:00"], "Waktu itu sudah lewat"),
    (["admin", "schedule", "0", "01-01-2099 08:00"], "Gelombang harus bilangan bulat dari 1"),
    (["backup", "."], "not a database of this bot"),
])
def test_one_line_on_an_existing_database(database: Path, monkeypatch: pytest.MonkeyPatch,
                                          run: Run, args: list[str], expected: str) -> None:
    monkeypatch.setenv("DATABASE_PATH", str(database))
    if args[0] == "backup":  # a SQLite file of something else
        sqlite3.connect(database).execute("DROP TABLE accounts").connection.close()
    code, _, err = run(*args)
    assert code != 0 and expected in one_line(err)


@pytest.mark.parametrize("command", ["run", "serve"])
async def test_telegram_unreachable_or_token_refused(tmp_path: Path, api: FakeBotApi, command: str) -> None:
    """As processes, as an operator meets it: the Bot API down, then a token it refuses."""
    closed = f"http://127.0.0.1:{free_port()}/bot"
    cases = [(closed, api.token, 1, f"cannot reach the Telegram Bot API at {closed}"),
             (api.base_url, "123:refused", 2, "Telegram refused TELEGRAM_BOT_TOKEN")]
    for number, (url, token, code, expected) in enumerate(cases):
        log = tmp_path / f"{command}-{number}.log"
        env = clean_env(TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=url, NIK_PEPPER=PEPPER, HOST="127.0.0.1",
                        TELEGRAM_WEBHOOK_SECRET="secret-of-the-operator",
                        PORT=free_port(), DATABASE_PATH=tmp_path / "bot.sqlite3", LOG_LEVEL="INFO")
        process = await start([command], tmp_path, env, log)
        assert await asyncio.wait_for(process.wait(), 60) == code
        err = log.read_text()
        assert expected in one_line(err)
        assert token not in err


async def test_serve_with_its_port_taken(tmp_path: Path, api: FakeBotApi) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        log = tmp_path / "serve.log"
        env = clean_env(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, NIK_PEPPER=PEPPER,
                        TELEGRAM_WEBHOOK_SECRET="secret-of-the-operator",
                        HOST="127.0.0.1", PORT=taken.getsockname()[1], DATABASE_PATH=tmp_path / "bot.sqlite3")
        process = await start(["serve"], tmp_path, env, log)
        assert await asyncio.wait_for(process.wait(), 60) == 1
    assert "address already in use" in one_line(log.read_text()).lower()
