"""Bodies the webhooks cannot use (issues 14.11, 14.14), through the real web app: the platforms retry every 5xx
(and Telegram every non-2xx), so each answer decides whether the same body comes back for hours.

- 100,000 nested "[" (a body within the size limit that no JSON parser reads): 400 on both webhooks, was a
  RecursionError and a 500.
- Telegram updates python-telegram-bot cannot read (older shapes, missing fields): 200, one log line, counted in
  /metrics; was a 400. Where only `is_bot` / `first_name` / a private chat's `type` is missing, the user is served.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import App
from bot.demo import DEMO_PEPPER
from bot.settings import load_settings
from bot.web import Web
from bot.web.security import SIGNATURE_HEADER, TELEGRAM_SECRET_HEADER, sign
from bot.web.serve import build_web
from tests.auxil.fake_bot_api import FakeBotApi
from tests.whatsapp.conftest import APP_SECRET, make_web, wa_settings

TELEGRAM_SECRET = "input-test-secret"
DEPTH = 100_000
NESTED = [b"[" * DEPTH, b'{"a":' * DEPTH, b"[" * DEPTH + b"]" * DEPTH]
USER = 7001


@pytest.fixture
async def telegram_web(app: App, api: FakeBotApi, tmp_path: Path) -> AsyncIterator[tuple[Web, httpx.AsyncClient]]:
    settings = load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=DEMO_PEPPER,
                             telegram_bot_token=api.token, telegram_api_url=api.base_url,
                             telegram_webhook_secret=TELEGRAM_SECRET)
    web = build_web(app, settings)
    transport = httpx.ASGITransport(app=web.starlette, raise_app_exceptions=False)  # a 500 is seen as a 500
    async with web.running(), httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield web, client


@pytest.fixture
async def whatsapp_web(app: App, tmp_path: Path, wa_api: Any) -> AsyncIterator[tuple[Web, httpx.AsyncClient]]:
    web = make_web(app, wa_settings(tmp_path, wa_api))
    transport = httpx.ASGITransport(app=web.starlette, raise_app_exceptions=False)
    async with web.running(), httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield web, client


@pytest.mark.parametrize("body", NESTED, ids=["brackets", "objects", "balanced"])
async def test_deeply_nested_json_is_a_400_on_the_telegram_webhook(
    telegram_web: tuple[Web, httpx.AsyncClient], body: bytes
) -> None:
    _, client = telegram_web
    response = await client.post("/telegram/webhook", content=body, headers={TELEGRAM_SECRET_HEADER: TELEGRAM_SECRET})
    assert response.status_code == 400


@pytest.mark.parametrize("body", NESTED, ids=["brackets", "objects", "balanced"])
async def test_deeply_nested_json_is_a_400_on_the_whatsapp_webhook(
    whatsapp_web: tuple[Web, httpx.AsyncClient], body: bytes
) -> None:
    _, client = whatsapp_web
    response = await client.post("/whatsapp/webhook", content=body, headers={SIGNATURE_HEADER: sign(body, APP_SECRET)})
    assert response.status_code == 400


def update(update_id: int, text: str = "/bantuan", **message: Any) -> dict[str, Any]:
    """A private-chat text update in today's shape; `message` replaces fields of the message."""
    base: dict[str, Any] = {
        "message_id": update_id, "date": 1767225600, "chat": {"id": USER, "type": "private", "first_name": "Siti"},
        "from": {"id": USER, "is_bot": False, "first_name": "Siti", "language_code": "id"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
    base.update(message)
    return {"update_id": update_id, "message": base}


def without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node.pop(path[-1])
    return data


# Older shapes (before `is_bot`, a nameless user, a chat without its type): served.
SERVABLE = {
    "no is_bot": lambda n: without(update(n), "message", "from", "is_bot"),
    "no first_name": lambda n: without(update(n), "message", "from", "first_name"),
    "no chat type": lambda n: without(update(n), "message", "chat", "type"),
    "button without is_bot": lambda n: {"update_id": n, "callback_query": {
        "id": str(n), "chat_instance": "1", "data": "go:bantuan", "from": {"id": USER, "first_name": "Siti"},
        "message": {"message_id": 1, "date": 1767225600, "chat": {"id": USER, "type": "private"}, "text": "Menu",
                    "from": {"id": 123456789, "is_bot": True, "first_name": "Asisten Prakerja"}}}},
}
# Shapes nothing can serve: acknowledged, counted, one log line.
UNREADABLE = {
    "no date": lambda n: without(update(n), "message", "date"),
    "date as text": lambda n: update(n, date="kemarin"),
    "message as text": lambda n: {"update_id": n, "message": "halo"},
    "entity without offset": lambda n: update(n, entities=[{"type": "bot_command"}]),
}


@pytest.mark.parametrize("shape", list(SERVABLE))
async def test_older_telegram_shapes_are_served(
    telegram_web: tuple[Web, httpx.AsyncClient], api: FakeBotApi, shape: str
) -> None:
    _, client = telegram_web
    response = await client.post("/telegram/webhook", json=SERVABLE[shape](9_100_001),
                                 headers={TELEGRAM_SECRET_HEADER: TELEGRAM_SECRET})
    assert response.status_code == 200
    await api.wait_for(lambda c: c.method in ("sendMessage", "editMessageText") and c.chat_id == USER
                       and "/hubungkan" in str(c.params.get("text")), within=5)


async def test_unreadable_telegram_updates_are_acknowledged_logged_once_and_counted(
    telegram_web: tuple[Web, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    web, client = telegram_web
    headers = {TELEGRAM_SECRET_HEADER: TELEGRAM_SECRET}
    for number, shape in enumerate(UNREADABLE, start=9_200_001):
        mark = len(caplog.records)
        response = await client.post("/telegram/webhook", json=UNREADABLE[shape](number), headers=headers)
        assert response.status_code == 200, shape  # Telegram would redeliver anything else
        lines = [r for r in caplog.records[mark:] if r.levelno >= logging.WARNING]
        assert len(lines) == 1 and str(number) in lines[0].getMessage() and not lines[0].exc_info, shape
    assert web.metrics.webhooks.value("telegram", "unreadable") == len(UNREADABLE)
    assert (await client.post("/telegram/webhook", json={"no": "update"}, headers=headers)).status_code == 400
