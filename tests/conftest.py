"""Shared fixtures: a real SQLite file in a temp folder, demo applicants loaded, the real router.

`applicant_chat` drives one chat through the platform-free router (the same path every channel takes);
channel tests (Telegram, WhatsApp) go through the real platform code against fake servers on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, load_demo, open_app
from bot.demo import DEMO_PEPPER, DemoApplicant, showcase
from bot.settings import load_settings
from tests.auxil.driver import ChatDriver


@pytest.fixture
def people() -> list[DemoApplicant]:
    """Siti (lolos, wave 1, card and balance), Budi (tidak lolos, wave 1), Agus (wave 4, not announced)."""
    return showcase()


@pytest.fixture
async def app(tmp_path: Path, people: list[DemoApplicant]) -> AsyncIterator[App]:
    settings = load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=DEMO_PEPPER,
                             admin_ids="9000001", support_ids="9000002")
    application = await open_app(settings, pepper=DEMO_PEPPER)
    await load_demo(application.storage, DEMO_PEPPER, people)
    yield application
    await application.close()


@pytest.fixture
def chat(app: App) -> ChatDriver:
    return ChatDriver(app.router, user_id="1001")
