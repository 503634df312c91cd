"""WhatsApp fixtures: the fake Cloud API on loopback, the real web app (ASGI), a signed-webhook user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.demo import DEMO_PEPPER
from bot.settings import Settings, load_settings
from bot.web import Web
from bot.web.serve import build_web
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.user import WhatsAppUser

APP_SECRET = "test-app-secret-not-real"
VERIFY_TOKEN = "test-verify-token"
METRICS_TOKEN = "test-metrics-token-not-real"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
FAST_RETRIES = (0.01, 0.02, 0.04)


@pytest.fixture
async def wa_api() -> AsyncIterator[FakeWhatsAppApi]:
    async with FakeWhatsAppApi() as api:
        yield api


def wa_settings(tmp_path: Path, api: FakeWhatsAppApi, **extra: object) -> Settings:
    options: dict[str, object] = {"admin_ids": "9000001", "metrics_token": METRICS_TOKEN, **extra}
    return load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=DEMO_PEPPER,
                         whatsapp_token=api.token, whatsapp_phone_id=api.phone_id, whatsapp_app_secret=APP_SECRET,
                         whatsapp_verify_token=VERIFY_TOKEN, whatsapp_api_url=api.base_url, **options)


def make_web(app: App, settings: Settings) -> Web:
    web = build_web(app, settings)
    assert web.whatsapp is not None
    web.whatsapp.retry_delays = FAST_RETRIES
    # Every scrape reads the database and waits for it: tests look right after an action.
    web.gauges.min_age, web.gauges.duty, web.gauges.serve_stale, web.page_reuse = 0, 0, False, 0
    return web


@pytest.fixture
async def web(app: App, wa_api: FakeWhatsAppApi, tmp_path: Path) -> AsyncIterator[Web]:
    web = make_web(app, wa_settings(tmp_path, wa_api))
    async with web.running():
        yield web


@pytest.fixture
async def http(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=web.starlette)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield client


@pytest.fixture
def user(http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi) -> WhatsAppUser:
    """Siti's number (+62 811 0000 0001): lolos in wave 1, with a card and a balance."""
    return WhatsAppUser(http, web, wa_api, APP_SECRET)
