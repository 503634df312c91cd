"""Shared fixtures: a real SQLite file in a temp folder, demo applicants loaded, the real router.

`applicant_chat` drives one chat through the platform-free router (the same path every channel takes);
channel tests (Telegram, WhatsApp) go through the real platform code against fake servers on loopback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
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
async def app(request: pytest.FixtureRequest, tmp_path: Path, people: list[DemoApplicant]) -> AsyncIterator[App]:
    """The whole bot on SQLite; `@pytest.mark.parametrize("app", ["postgres"], indirect=True)` runs a test's bot
    on PostgreSQL instead (a fresh schema; skipped without a server, see tests/auxil/postgres.py)."""
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if getattr(request, "param", "sqlite") == "postgres":
            from tests.auxil.postgres import fresh_schema, require_postgres

            url = await stack.enter_async_context(fresh_schema(require_postgres()))
        settings = load_settings(database_path=tmp_path / "bot.sqlite3", database_url=url, nik_pepper=DEMO_PEPPER,
                                 admin_ids="9000001", support_ids="9000002")
        application = await open_app(settings, pepper=DEMO_PEPPER)
        await load_demo(application.storage, DEMO_PEPPER, people)
        yield application
        await application.close()


@pytest.fixture
def chat(app: App) -> ChatDriver:
    return ChatDriver(app.router, user_id="1001")


@pytest.fixture(autouse=True)
def _no_real_network() -> Iterator[None]:
    """Every test is offline: only loopback works, and any other attempt fails the test (tests/auxil/networking.py)."""
    from tests.auxil.networking import loopback_only

    with loopback_only() as refused:
        yield
    if refused:
        pytest.fail(f"a test tried to use the real network: {sorted(set(refused))}")
