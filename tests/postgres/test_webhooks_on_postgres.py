"""The web server on PostgreSQL: WhatsApp and Telegram webhooks through the real ASGI app, with the chat turns
(tickets taken before the 200, handling in turn) that several processes need. The tests are the WhatsApp ones,
imported and run here with `app` on a fresh PostgreSQL schema.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.demo import DEMO_PEPPER
from bot.settings import load_settings
from bot.web.serve import build_web
from tests.auxil.fake_bot_api import FakeBotApi
from tests.whatsapp.conftest import http, user, wa_api, web  # noqa: F401  (their fixtures, for the tests below)
from tests.whatsapp.test_flows import (  # noqa: F401
    test_link_with_the_sender_number_and_nik_then_result,
    test_wrong_nik_counts_and_five_lock_the_number,
)
from tests.whatsapp.test_webhook import (  # noqa: F401
    TELEGRAM_SECRET,
    test_a_message_twice_in_one_body_is_handled_once,
    test_one_chat_in_order_many_chats_at_once,
    test_redelivered_message_is_handled_once,
    test_telegram_webhook_needs_the_secret_and_handles_an_update_once,
)

pytestmark = pytest.mark.parametrize("app", ["postgres"], indirect=True)


async def test_an_update_stored_whose_chat_turn_cannot_be_taken_is_still_answered(app: App, tmp_path: Path) -> None:
    """The update is in the inbox (a redelivery would be dropped as seen): if its chat's turn cannot be taken, it is
    handled under the chat's lock alone, never left stored and unanswered behind a 500."""
    async with FakeBotApi() as api:
        settings = load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=DEMO_PEPPER,
                                 telegram_bot_token=api.token, telegram_api_url=api.base_url,
                                 telegram_webhook_secret=TELEGRAM_SECRET)
        web = build_web(app, settings)
        update = {"update_id": 5101, "message": {
            "message_id": 1, "date": 1767225600, "chat": {"id": 1101, "type": "private"},
            "from": {"id": 1101, "is_bot": False, "first_name": "Siti", "language_code": "id"},
            "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
        async with web.running(), httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette),
                                                    base_url="http://bot.test") as http:
            await app.storage.database.execute("ALTER TABLE chat_turns RENAME TO chat_turns_away")  # turns fail
            try:
                answer = await http.post("/telegram/webhook", json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
            finally:
                await app.storage.database.execute("ALTER TABLE chat_turns_away RENAME TO chat_turns")
            assert answer.status_code == 200
            await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 1101, within=10)
