"""Admin and support fixtures: staff chats over the real router, a linked population, the fake Bot API, and a
real sender (its Telegram transport talking to the fake server on loopback)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.app import App
from bot.channels.telegram.transport import TelegramTransport
from bot.demo import DEMO_PEPPER, applicants
from bot.sender import Sender, build_sender
from bot.settings import load_settings
from handlers.identity import hash_nik
from handlers.roles import Channel
from storage import ImportRow
from storage.models import WaveResult
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram import conftest as telegram_fixtures

# Fixtures shared with the Telegram tests: the fake Bot API server, the real Application, quiet PTB warnings.
api = telegram_fixtures.api
_quiet_retry_after_warning = telegram_fixtures._quiet_retry_after_warning
tg_settings = telegram_fixtures.tg_settings
application = telegram_fixtures.application  # the channel's real PTB Application (answers applicants)

ADMIN_ID = "9000001"
SUPPORT_ID = "9000002"
NEW_WAVE = 7  # a wave the demo data does not use: unpublished, results decided
FAST = 1000.0  # messages per second for tests that are not about the rate


@pytest.fixture
def admin(app: App) -> ChatDriver:
    return ChatDriver(app.router, user_id=ADMIN_ID, channel=Channel.TELEGRAM)


@pytest.fixture
def support(app: App) -> ChatDriver:
    return ChatDriver(app.router, user_id=SUPPORT_ID, channel=Channel.TELEGRAM)


@pytest.fixture
def stranger(app: App) -> ChatDriver:
    return ChatDriver(app.router, user_id="1001", channel=Channel.TELEGRAM)


@dataclass(frozen=True)
class Member:
    """A generated applicant with a linked Telegram chat."""

    account_id: int
    chat_id: int  # internal
    external_id: str  # the Telegram chat id
    result: WaveResult | None
    phone: str
    nik: str


async def populate(app: App, count: int, *, wave: int = NEW_WAVE, first_chat: int = 500_000,
                   seed: int = 7) -> list[Member]:
    """`count` applicants in `wave`, each linked from its own Telegram chat (through the real repositories)."""
    people = list(applicants(count, seed=seed, waves=1))
    rows = [ImportRow(hash_nik(p.nik, DEMO_PEPPER), p.phone.replace("+62812", f"+6285{seed % 10}"), p.name, wave,
                      p.result, p.card_number and f"5{seed}{p.card_number[2:]}", p.balance) for p in people]
    await app.storage.accounts.import_rows(rows)
    members = []
    for index, (person, row) in enumerate(zip(people, rows, strict=True)):
        external = str(first_chat + index)
        snapshot = await app.storage.chats.snapshot(Channel.TELEGRAM.value, external, external)
        account = (await app.storage.accounts.by_phone(row.phone))[0]
        await app.storage.chats.link(snapshot.chat.id, account.id, external)
        members.append(Member(account.id, snapshot.chat.id, external, person.result, row.phone, person.nik))
    return members


@pytest.fixture
def make_sender(app: App, api: FakeBotApi) -> Callable[..., Sender]:
    def make(rate: float = FAST, concurrency: int = 16, lease: float = 60.0) -> Sender:
        settings = load_settings(database_path=app.settings.database_path, nik_pepper=DEMO_PEPPER,
                                 admin_ids=ADMIN_ID, support_ids=SUPPORT_ID, telegram_bot_token=api.token,
                                 telegram_api_url=api.base_url, telegram_rate=rate, sender_concurrency=concurrency,
                                 sender_lease_seconds=lease)
        transport = TelegramTransport(api.token, api.base_url, rate=rate, concurrency=concurrency)
        return build_sender(app, settings, [transport])

    return make


async def run_until(sender: Sender, done: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Run the sender until `done()` holds (checked every 50 ms), then stop it and let it finish."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        async with asyncio.timeout(within):
            while not await done():
                if task.done():
                    await task  # raise what went wrong
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        for lane in sender.lanes:
            await lane.transport.close()


def queue_empty(app: App) -> Callable[[], Awaitable[bool]]:
    """Nothing pending or in flight, and every running broadcast finished."""
    async def check() -> bool:
        row = await app.storage.database.fetchone(
            "SELECT (SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending'))"
            " + (SELECT count(*) FROM broadcasts WHERE state = 'running') AS n")
        return row is not None and row["n"] == 0

    return check


async def delivery_states(app: App, broadcast_id: int) -> dict[str, int]:
    rows = await app.storage.database.fetchall(
        "SELECT state, count(*) AS n FROM deliveries WHERE broadcast_id = ? GROUP BY state", (broadcast_id,))
    return {r["state"]: r["n"] for r in rows}


def elapsed(seconds: float) -> Callable[[], Awaitable[bool]]:
    """A `run_until` condition: `seconds` have passed since it was made."""
    start = time.monotonic()

    async def check() -> bool:
        return time.monotonic() - start >= seconds

    return check


def sent_at_least(api: FakeBotApi, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(api.sent()) >= count

    return check
