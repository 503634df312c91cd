"""Backups: `python -m bot backup DEST` while a real `python -m bot run` writes, `python -m bot restore` into a fresh
path, and the bot started on the restored file knows everything it knew (issue 12: backups)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import App
from bot.demo import DEMO_PEPPER, DemoApplicant
from tests.auxil.fake_bot_api import FakeBotApi
from tests.cli.processes import START_WITHIN, clean_env, start, stop
from tests.reliability.conftest import integrity_ok
from tests.telegram.user import TelegramUser

WRITERS = 40  # chats that write at least (more while the backup is taken)
WRITE_EVERY_S = 0.02


def answered(api: FakeBotApi, chat_id: int, text: str):  # type: ignore[no-untyped-def]
    return lambda c: c.method == "sendMessage" and c.chat_id == chat_id and text in str(c.params.get("text"))


def bot_env(database: Path, api: FakeBotApi) -> dict[str, str]:
    return clean_env(DATABASE_PATH=database, NIK_PEPPER=DEMO_PEPPER, TELEGRAM_BOT_TOKEN=api.token,
                     TELEGRAM_API_URL=api.base_url)


def written(folder: Path, pattern: str = "prakerja-*.sqlite3") -> list[Path]:
    return sorted(folder.glob(pattern))


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


async def test_backup_while_the_bot_writes_then_restore_and_start_on_it(
        app: App, api: FakeBotApi, people: list[DemoApplicant], tmp_path: Path) -> None:
    siti = people[0]
    database = app.settings.database_path
    log = tmp_path / "bot.log"
    user = TelegramUser(None, api, user_id=7100)  # type: ignore[arg-type]  # builds updates; polling delivers them
    bot = await start(["run"], tmp_path, bot_env(database, api), log)
    try:
        api.push_update({"message": user.text_message("/hubungkan")})
        await api.wait_for(answered(api, user.chat_id, "Bagikan nomor HP saya"), within=START_WITHIN)
        api.push_update({"message": user.message(contact={"phone_number": siti.phone.lstrip("+"),
                                                          "first_name": "Siti", "user_id": user.user_id})})
        api.push_update({"message": user.text_message(siti.nik)})
        await api.wait_for(answered(api, user.chat_id, "Berhasil"), within=START_WITHIN)
        writers: list[TelegramUser] = []
        backing_up = asyncio.Event()

        async def keep_writing() -> None:  # a new chat (rows written) every few ms, until the backup is done
            while not backing_up.is_set() or len(writers) < WRITERS:
                writer = TelegramUser(None, api, user_id=7200 + len(writers))  # type: ignore[arg-type]
                writers.append(writer)
                api.push_update({"message": writer.text_message("/start")})
                await asyncio.sleep(WRITE_EVERY_S)

        writing = asyncio.create_task(keep_writing())
        backup = await asyncio.to_thread(cli, "backup", str(tmp_path), env=bot_env(database, api), cwd=tmp_path)
        backing_up.set()
        await writing
        await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id in {w.chat_id for w in writers},
                           count=len(writers), within=START_WITHIN)
    finally:
        assert await stop(bot) == 0, log.read_text()
    assert backup.returncode == 0, backup.stderr
    (copy,) = written(tmp_path)
    assert f"backup written: {copy}" in backup.stdout
    assert integrity_ok(copy) and not written(tmp_path, "prakerja-*-wal")  # one whole, self-contained file

    restored = tmp_path / "restored" / "prakerja.sqlite3"
    env = bot_env(restored, api)
    done = cli("restore", str(copy), env=env, cwd=tmp_path)
    assert done.returncode == 0 and "restored" in done.stdout, done.stderr
    again = cli("restore", str(copy), env=env, cwd=tmp_path)  # never over a database that is there
    assert again.returncode != 0 and "exists" in again.stderr
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == len(people)

    api.calls.clear()
    bot = await start(["run"], tmp_path, env, log)
    try:
        api.push_update({"message": user.text_message("/hasil")})  # linked before the backup: still linked
        result = await api.wait_for(answered(api, user.chat_id, "Gelombang 1: Lolos"), within=START_WITHIN)
        assert "5123 4567" in result[0].params["text"]  # her card: the account and the link came back
    finally:
        assert await stop(bot) == 0, log.read_text()
    assert integrity_ok(restored)
