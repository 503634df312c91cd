"""`python -m bot sender` never makes the SQLite database (issue 12): with the Procfile, `serve` and the sender start
together on one file, and the sender made `./data/prakerja.sqlite3` itself where it was started. It waits for the
database `serve`, `run` or `import` makes, for a bounded time, then refuses in one line with the database's exit
code. And the exit codes are the README's: 2 for settings, 3 for the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.importer import write_demo_file
from tests.auxil.fake_bot_api import FakeBotApi
from tests.cli.processes import START_WITHIN, clean_env, start, stop, text_of
from tests.cli.test_failures import PEPPER, Run, folder, one_line

__all__ = ["folder"]  # the fixture: an empty working folder, none of the runner's settings


def test_sender_without_a_database_refuses_and_makes_nothing(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                             run: Run) -> None:
    monkeypatch.setenv("NIK_PEPPER", PEPPER)
    monkeypatch.setattr("bot.__main__.DATABASE_WAIT_SECONDS", 0.5)  # the bound, shortened: the wait is not tested
    code, _, err = run("sender")
    assert code == 3
    assert "no database at data/prakerja.sqlite3 (DATABASE_PATH)" in one_line(err)
    assert not (folder / "data").exists()


async def test_sender_started_before_the_database_waits_for_it(tmp_path: Path, api: FakeBotApi) -> None:
    """As the Procfile starts it: the sender first, the database made meanwhile (here by the registry import, as
    `serve` makes it at its start); the sender then runs on it, and stops cleanly."""
    database = tmp_path / "data" / "prakerja.sqlite3"
    log = tmp_path / "sender.log"
    env = clean_env(NIK_PEPPER=PEPPER, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, LOG_LEVEL="INFO")
    sender = await start(["sender"], tmp_path, env, log)
    try:
        await _until_logged(log, "waiting up to", sender)
        assert not database.exists()  # the sender made nothing while it waited
        registry = tmp_path / "registry.csv"
        assert write_demo_file(registry, 3, 2021) == 0  # generated applicants (`python -m bot demo-data`)
        importer = await start(["import", registry.name], tmp_path, env, tmp_path / "import.log")
        assert await asyncio.wait_for(importer.wait(), START_WITHIN) == 0, text_of(tmp_path / "import.log")
        await _until_logged(log, "sender running", sender)
    finally:
        assert await stop(sender) == 0, text_of(log)
    text = text_of(log)
    assert "Traceback" not in text and "error" not in text.lower()
    assert text.count("applying migration") == 0  # the import migrated it; the sender only waited


async def _until_logged(log: Path, words: str, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(START_WITHIN):
        while words not in text_of(log):
            assert process.returncode is None, text_of(log)
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(("args", "settings", "code"), [
    (["chat"], {"NIK_PEPPER": PEPPER}, 3),
    (["admin", "waves"], {}, 3),
    (["retention"], {}, 3),
    (["backup", "copy.sqlite3"], {}, 3),
    (["run"], {"NIK_PEPPER": PEPPER}, 2),
    (["chat"], {}, 2),
])
def test_exit_codes_are_the_readmes(folder: Path, monkeypatch: pytest.MonkeyPatch, run: Run, args: list[str],
                                    settings: dict[str, str], code: int) -> None:
    """README: "2 for settings, 3 for the database" (no database yet was reported as a setting, 2)."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert run(*args)[0] == code


@pytest.mark.parametrize(("args", "expected"), [
    ([], "name a command: chat, run, serve, sender, import"),
    (["admin"], "name a command: import, waves, schedule, publish, broadcast, status"),
])
def test_a_missing_command_is_named_in_words(folder: Path, run: Run, capsys: pytest.CaptureFixture[str],
                                            args: list[str], expected: str) -> None:
    """Not argparse's "the following arguments are required: admin_command"."""
    with pytest.raises(SystemExit) as exit_:
        run(*args)
    assert exit_.value.code == 2
    assert expected in one_line(capsys.readouterr().err)


async def test_the_sender_names_the_platforms_it_delivers_to(tmp_path: Path) -> None:
    """A WhatsApp-only sender (the Procfile's worker beside a WhatsApp `serve`) said "Telegram 30.0/s"."""
    from storage import open_storage

    await (await open_storage(tmp_path / "bot.sqlite3")).close()  # the database `serve` made
    log = tmp_path / "sender.log"
    env = clean_env(NIK_PEPPER=PEPPER, DATABASE_PATH=tmp_path / "bot.sqlite3", LOG_LEVEL="INFO",
                    WHATSAPP_TOKEN="token-of-the-test", WHATSAPP_PHONE_ID="1234567890",
                    WHATSAPP_APP_SECRET="secret-of-the-test", WHATSAPP_VERIFY_TOKEN="verify-of-the-test",
                    WHATSAPP_API_URL="http://127.0.0.1:9/v21.0")  # never called: nothing is queued
    sender = await start(["sender"], tmp_path, env, log)
    try:
        await _until_logged(log, "sender running", sender)
    finally:
        assert await stop(sender) == 0, text_of(log)
    (running,) = [line for line in text_of(log).splitlines() if "sender running" in line]
    assert "whatsapp 80/s" in running and "telegram" not in running.lower()
