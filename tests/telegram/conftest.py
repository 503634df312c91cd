"""Telegram fixtures: the fake Bot API on loopback, the real PTB Application built by the bot, test users."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.app import App
from bot.channels.telegram import build_application
from bot.demo import DEMO_PEPPER
from bot.settings import Settings, load_settings
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram.user import TelegramUser


@pytest.fixture(autouse=True)
def _quiet_retry_after_warning() -> Iterator[None]:
    """PTB 22 warns inside RetryAfter's own constructor that retry_after will become a timedelta."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*retry_after.*", category=PTBDeprecationWarning)
        yield


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
def tg_settings(app: App, api: FakeBotApi) -> Settings:
    return load_settings(database_path=app.settings.database_path, nik_pepper=DEMO_PEPPER, admin_ids="9000001",
                         support_ids="9000002", telegram_bot_token=api.token, telegram_api_url=api.base_url)


@pytest.fixture
async def application(app: App, tg_settings: Settings) -> AsyncIterator[Application]:
    application = build_application(app, tg_settings)
    async with application:  # initialize (getMe) ... shutdown
        yield application


@pytest.fixture
def user(application: Application, api: FakeBotApi) -> TelegramUser:
    return TelegramUser(application, api, user_id=1001)


@pytest.fixture
def make_user(application: Application, api: FakeBotApi):  # type: ignore[no-untyped-def]
    def make(user_id: int, **kwargs: object) -> TelegramUser:
        return TelegramUser(application, api, user_id=user_id, **kwargs)  # type: ignore[arg-type]

    return make
