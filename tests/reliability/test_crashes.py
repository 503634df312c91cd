"""Crashes: `kill -9` of a real `python -m bot run` (long polling the fake Bot API) in the middle of linking; the
restarted bot continues the conversation at its step, and the database is sound.

Mid-broadcast: tests/admin/test_crash.py kills a real `python -m bot sender` in the middle of a broadcast and
checks that nobody misses the message and nothing confirmed sent is sent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from bot.app import App
from bot.demo import DEMO_PEPPER, DemoApplicant
from tests.auxil.fake_bot_api import FakeBotApi
from tests.reliability.conftest import integrity_ok
from tests.telegram.user import TelegramUser

ROOT = Path(__file__).resolve().parents[2]
START_WITHIN = 20.0  # seconds for a fresh interpreter to import everything and poll (a slow CI machine)
POLL_EVERY = 0.05


def bot_env(database: Path, api: FakeBotApi) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_"))}
    return {**inherited, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(database), "NIK_PEPPER": DEMO_PEPPER,
            "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url, "LOG_LEVEL": "INFO"}


async def start_bot(database: Path, api: FakeBotApi, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as handle:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=bot_env(database, api), cwd=database.parent,
            stdout=handle, stderr=handle)


def step_of(database: Path, chat_id: int) -> str | None:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT cv.step FROM conversations cv JOIN chats ch ON ch.id = cv.chat_id"
            " WHERE ch.channel = 'telegram' AND ch.external_id = ?", (str(chat_id),)).fetchone()
    return row[0] if row else None


async def wait_until(predicate, within: float) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(within / POLL_EVERY)):
        if predicate():
            return
        await asyncio.sleep(POLL_EVERY)
    raise TimeoutError(f"not within {within} s")


def answers_to(api: FakeBotApi, chat_id: int, text: str):  # type: ignore[no-untyped-def]
    return lambda c: c.method == "sendMessage" and c.chat_id == chat_id and text in str(c.params.get("text"))


async def test_kill_9_mid_conversation_then_the_restarted_bot_continues_at_the_step(
        app: App, api: FakeBotApi, people: list[DemoApplicant], tmp_path: Path) -> None:
    siti = people[0]
    database = app.settings.database_path
    log = tmp_path / "bot.log"
    user = TelegramUser(None, api, user_id=7007)  # type: ignore[arg-type]  # builds the updates; polling delivers
    bot = await start_bot(database, api, log)
    try:
        api.push_update({"message": user.text_message("/hubungkan")})
        await api.wait_for(answers_to(api, user.chat_id, "Bagikan nomor HP saya"), within=START_WITHIN)
        api.slow(30.0, method="sendMessage", chat_id=user.chat_id, times=1)  # the answer hangs: kill meanwhile
        api.push_update({"message": user.message(contact={"phone_number": siti.phone.lstrip("+"),
                                                          "first_name": "Siti", "user_id": user.user_id})})
        await wait_until(lambda: step_of(database, user.chat_id) == "link.await_nik", within=10)
    finally:
        bot.send_signal(signal.SIGKILL)
        assert await bot.wait() == -signal.SIGKILL
    api.clear_faults()

    bot = await start_bot(database, api, log)
    try:
        api.push_update({"message": user.text_message(siti.nik)})
        linked = await api.wait_for(answers_to(api, user.chat_id, "Berhasil"), within=START_WITHIN)
        assert "Siti Rahmawati" in linked[0].params["text"]
    finally:
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 15) == 0  # a clean stop this time
    assert step_of(database, user.chat_id) is None
    assert integrity_ok(database)
    assert siti.nik not in log.read_text(encoding="utf-8", errors="replace")
