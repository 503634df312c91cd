"""Reliability fixtures: the Telegram and WhatsApp fixtures of their own suites, a Hypothesis profile that is the
same on every run, and what "the user noticed nothing wrong" means, once.

Hypothesis runs derandomized (the same examples every run, so CI is stable) with a bounded number of examples and
no deadline (a shared CI machine is slow at times; correctness, not speed, is checked here).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, settings

from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram import conftest as telegram_fixtures
from tests.telegram.user import TelegramUser
from tests.whatsapp import conftest as whatsapp_fixtures

settings.register_profile(
    "reliability", derandomize=True, deadline=None, max_examples=40, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The Telegram suite's fixtures: fake Bot API, settings, the real Application, users.
api = telegram_fixtures.api
tg_settings = telegram_fixtures.tg_settings
application = telegram_fixtures.application
user = telegram_fixtures.user
make_user = telegram_fixtures.make_user
_quiet_retry_after_warning = telegram_fixtures._quiet_retry_after_warning
# The WhatsApp suite's fixtures: fake Cloud API, the real web app, an HTTP client to it (its `user` is `wa_user`).
wa_api = whatsapp_fixtures.wa_api
web = whatsapp_fixtures.web
http = whatsapp_fixtures.http
wa_user = whatsapp_fixtures.user

SORRY = "kesalahan di sistem"  # the router's apology for a bug: a user must never see it
BUSY = "Sistem sedang sibuk"  # the answer when the database cannot do it now


def answered(user: TelegramUser) -> str:
    """The bot's answer to the user's last update; fails on silence or on the apology for a bug."""
    assert user.replies, f"the bot stayed silent; calls: {[(c.method, c.status) for c in user.last]}"
    text = user.text
    assert SORRY not in text, text
    return text


def integrity_ok(path: Path) -> bool:
    """`PRAGMA integrity_check` on the database file, from a connection of its own."""
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def link_finishes(user: TelegramUser, phone: str, nik: str) -> None:
    """The chat can still do the whole /hubungkan: contact, NIK, linked."""
    await user.send("/hubungkan")
    assert "Bagikan nomor HP saya" in answered(user)
    await user.share_contact(phone.lstrip("+"))
    assert "16 digit NIK" in answered(user)
    await user.send(nik)
    assert "Berhasil" in answered(user)


def sent_ok(api: FakeBotApi, chat_id: int) -> int:
    """Messages the fake Bot API accepted into a chat (sent or edited)."""
    return len(api.sent(chat_id))
