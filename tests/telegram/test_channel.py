"""The channel itself: limits agree with Telegram's, the command menu, long polling, start-up errors."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from telegram import Bot
from telegram.constants import InlineKeyboardButtonLimit
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.app import App
from bot.channels.telegram.application import file_url
from bot.channels.telegram.commands import APPLICANT_COMMANDS
from bot.channels.telegram.request import LeanRequest
from bot.run import run_polling
from bot.settings import Settings, SettingsError, load_settings
from handlers.api import MAX_ACTION_BYTES
from tests.auxil.fake_bot_api import FakeBotApi

COMMANDS = ["start", "menu", "hubungkan", "hasil", "kartu", "video", "panduan", "platform", "pelatihan", "syarat",
            "ceklink", "bahasa", "berhenti", "mulai", "putuskan", "petugas", "bantuan"]


def test_button_payload_limit_is_telegrams() -> None:
    assert MAX_ACTION_BYTES == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


def test_file_url_follows_the_api_url() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


def test_application_talks_to_the_configured_api(application: Application, api: FakeBotApi) -> None:
    assert application.bot.base_url == api.base_url + api.token  # the token appended, as python-telegram-bot does
    assert application.bot.username == "AsistenPrakerjaBot"  # getMe answered at initialize


async def test_commands_registered_in_indonesian_and_english(application: Application, api: FakeBotApi) -> None:
    assert application.post_init is not None
    await application.post_init(application)
    assert [c["command"] for c in api.commands[""]] == COMMANDS
    assert [c["command"] for c in api.commands["en"]] == COMMANDS
    assert api.commands[""][COMMANDS.index("hasil")]["description"] == "Hasil seleksi per gelombang"
    # English descriptions come from the en catalog (the lead's): robust check that they are at least set.
    assert all(c["description"] for c in api.commands["en"])


def test_every_handler_command_in_the_menu_exists() -> None:
    assert [name for name, _ in APPLICANT_COMMANDS] == COMMANDS


def polling_settings(app: App, api: FakeBotApi, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_path": app.settings.database_path, "nik_pepper": app.settings.nik_pepper,
                                 "telegram_bot_token": api.token, "telegram_api_url": api.base_url}
    values.update(overrides)
    return load_settings(**values)


def start_update(user_id: int, text: str = "/start") -> dict[str, object]:
    return {"message": {"message_id": 1, "date": 0, "text": text,
                        "chat": {"id": user_id, "type": "private", "first_name": "Budi"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "Budi", "language_code": "id"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


async def test_long_polling_answers_updates_and_stops(app: App, api: FakeBotApi) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(polling_settings(app, api), stop=stop))
    api.push_update(start_update(5005))
    api.push_update(start_update(5006, "/bantuan"))
    sent = await api.wait_for("sendMessage", count=2, within=10)
    assert {c.chat_id for c in sent} == {5005, 5006}
    assert "Asisten Prakerja" in api.texts(5005)[0] and "/hubungkan" in api.texts(5006)[0]
    assert api.commands[""] and api.commands["en"]  # setMyCommands at start
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    offsets = [c.params.get("offset") for c in api.calls_to("getUpdates")]
    assert max(o or 0 for o in offsets) >= 2  # the updates were confirmed, so a restart does not repeat them


async def test_sigterm_stops_polling_cleanly(app: App, api: FakeBotApi) -> None:
    task = asyncio.create_task(run_polling(polling_settings(app, api)))
    await api.wait_for("deleteWebhook", within=10)  # polling is starting: the signal handlers are in place
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0


async def test_missing_token_or_pepper_is_one_clear_error(app: App, api: FakeBotApi) -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        await run_polling(polling_settings(app, api, telegram_bot_token=None))
    with pytest.raises(SettingsError, match="NIK_PEPPER"):
        await run_polling(polling_settings(app, api, nik_pepper=None))


async def test_refused_token_exits_with_an_error(app: App, api: FakeBotApi, caplog: pytest.LogCaptureFixture
                                                 ) -> None:
    assert await run_polling(polling_settings(app, api, telegram_bot_token="999:wrong")) == 2
    assert "TELEGRAM_BOT_TOKEN" in caplog.text


async def test_unreachable_api_exits_with_an_error(app: App, api: FakeBotApi) -> None:
    await api.stop()
    assert await run_polling(polling_settings(app, api)) == 1


async def test_run_delivers_the_outbox_beside_polling(app: App, api: FakeBotApi) -> None:
    """`python -m bot run` also runs the sender: a queued personal message reaches its chat while polling."""
    chat = (await app.storage.chats.snapshot("telegram", "5007", "5007")).chat
    await app.storage.outbox.notice(chat.id, "Pesan dari antrean", "test")
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(polling_settings(app, api), stop=stop))
    sent = await api.wait_for("sendMessage", within=10)
    assert sent[0].chat_id == 5007 and "Pesan dari antrean" in api.texts(5007)[0]
    stop.set()
    assert await asyncio.wait_for(task, 15) == 0


async def test_a_long_poll_outlasts_the_answers_timeout(api: FakeBotApi) -> None:
    """`run` polls over the lean transport: getUpdates waits up to its long-poll seconds for news, longer than an
    answer may take, and an empty poll is an answer, not a timeout."""
    fallback = HTTPXRequest(connection_pool_size=1, read_timeout=0.3)
    bot = Bot(api.token, base_url=api.base_url, request=LeanRequest(fallback, connections=1, timeout=0.3),
              get_updates_request=LeanRequest(fallback, connections=1, timeout=0.3))
    async with bot:
        started = asyncio.get_running_loop().time()
        assert await bot.get_updates(timeout=1) == ()
        assert asyncio.get_running_loop().time() - started >= 0.9  # the server held the poll for its full second
