"""Hand-off fixtures: the bot with a support group configured, the fake Bot API on loopback (forum topics), the
real PTB Application for applicants and staff, the desk worker posting into topics, and the real outbox sender."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.app import App, load_demo, open_app
from bot.channels.telegram import build_application
from bot.channels.telegram.application import file_url
from bot.channels.telegram.topics import SupportDesk
from bot.channels.telegram.transport import TelegramTransport
from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.sender import Sender, Transport, build_sender
from bot.settings import Settings, load_settings
from tests.admin.conftest import queue_empty, run_until
from tests.auxil.fake_bot_api import Call, FakeBotApi
from tests.auxil.postgres import fresh_schema, require_postgres
from tests.telegram import conftest as telegram
from tests.telegram.user import TelegramUser

GROUP = -1001234567890  # the support supergroup (forum)
ADMIN, SUPPORT, MEMBER = 9000001, 9000002, 9000077  # MEMBER is in the group without a staff role
FLOOD = 5  # an applicant's messages relayed per minute in these tests
GROUP_CHAT = {"id": GROUP, "type": "supergroup", "title": "Petugas Prakerja", "is_forum": True}

# The Telegram tests' fixtures, here too: the fake Bot API on loopback, PTB's retry_after warning silenced.
api = telegram.api
_quiet_retry_after_warning = telegram._quiet_retry_after_warning


def desk_settings(path: Path, api: FakeBotApi, **extra: object) -> Settings:
    return load_settings(database_path=path, nik_pepper=DEMO_PEPPER, admin_ids=str(ADMIN), support_ids=str(SUPPORT),
                         telegram_bot_token=api.token, telegram_api_url=api.base_url, support_chat_id=GROUP,
                         support_flood_messages=FLOOD, telegram_rate=1000, **extra)


@pytest.fixture
async def app(request: pytest.FixtureRequest, tmp_path: Path, api: FakeBotApi, people: list[DemoApplicant]
              ) -> AsyncIterator[App]:
    """The whole bot with SUPPORT_CHAT_ID set (overrides the root fixture here): on SQLite, or on PostgreSQL with
    `@pytest.mark.parametrize("app", ["postgres"], indirect=True)` (skipped without a server)."""
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if getattr(request, "param", "sqlite") == "postgres":
            url = await stack.enter_async_context(fresh_schema(require_postgres()))
        settings = desk_settings(tmp_path / "bot.sqlite3", api, database_url=url)
        application = await open_app(settings, pepper=DEMO_PEPPER)
        await load_demo(application.storage, DEMO_PEPPER, people)
        yield application
        await application.close()


@pytest.fixture
async def application(app: App) -> AsyncIterator[Application]:
    application = build_application(app, app.settings)
    async with application:
        yield application


@pytest.fixture
async def desk(app: App, api: FakeBotApi) -> AsyncIterator[SupportDesk]:
    """The desk worker with its own Bot; tests call `desk.step()` to post what is queued, deterministically."""
    bot = Bot(api.token, base_url=api.base_url, base_file_url=file_url(api.base_url),
              request=HTTPXRequest(connection_pool_size=2))
    await bot.initialize()
    worker = SupportDesk(app.router.services, bot, GROUP, per_minute=1000)
    app.router.observers.append(worker.wake)  # as bot.channels.telegram.topics.support_desk wires it
    yield worker
    await bot.shutdown()


@dataclass
class Outbox:
    """The real sender with a Telegram transport (and any other given): `await outbox.deliver()` sends all queued."""

    app: App
    api: FakeBotApi
    extra: tuple[Transport, ...] = ()

    def sender(self) -> Sender:
        transport = TelegramTransport(self.api.token, self.api.base_url, rate=1000, concurrency=8)
        return build_sender(self.app, self.app.settings, [transport, *self.extra])

    async def deliver(self) -> None:
        await run_until(self.sender(), queue_empty(self.app))


@pytest.fixture
def outbox(app: App, api: FakeBotApi) -> Outbox:
    return Outbox(app, api)


class Staff(TelegramUser):
    """A member of the support group, writing in a topic (`thread`) or in the general topic (None)."""

    async def write(self, text: str, thread: int | None = None) -> list[Call]:
        message = self.text_message(text)
        if thread is not None:
            message.update(message_thread_id=thread, is_topic_message=True)
        return await self.feed({"message": message})

    def said(self, thread: int | None = None) -> str:
        """What the bot answered this member's last update with, in the group (in `thread`)."""
        return "\n".join(str(c.params.get("text", "")) for c in self.last
                         if c.status == 200 and str(c.chat_id) == str(GROUP)
                         and c.params.get("message_thread_id") == thread)


@pytest.fixture
def staff(application: Application, api: FakeBotApi) -> Staff:
    return Staff(application, api, user_id=SUPPORT, first_name="Rina", chat=GROUP_CHAT)


@pytest.fixture
def member(application: Application, api: FakeBotApi) -> Staff:
    return Staff(application, api, user_id=MEMBER, first_name="Tamu", chat=GROUP_CHAT)


@pytest.fixture
def applicant(application: Application, api: FakeBotApi) -> TelegramUser:
    return TelegramUser(application, api, user_id=1001)


@pytest.fixture
def make_applicant(application: Application, api: FakeBotApi):  # type: ignore[no-untyped-def]
    def make(user_id: int) -> TelegramUser:
        return TelegramUser(application, api, user_id=user_id)

    return make


def topic_of(api: FakeBotApi, ticket: int) -> int:
    """The thread id of ticket #`ticket`'s topic (named '#N · ...')."""
    for thread, topic in api.topics.get(str(GROUP), {}).items():
        if topic.name.startswith(f"#{ticket} ") and not topic.deleted:
            return thread
    raise AssertionError(f"no topic for ticket {ticket}: {api.topics}")


def topic_texts(api: FakeBotApi, thread: int) -> list[str]:
    return [str(c.params.get("text") or c.params.get("caption") or "") for c in api.in_topic(GROUP, thread)]


def membership(status: str, by: int = ADMIN) -> dict[str, Any]:
    """A my_chat_member update: the bot's status in the support group changed to `status`."""
    bot = {"id": 123456789, "is_bot": True, "first_name": "Asisten Prakerja", "username": "AsistenPrakerjaBot"}
    old = {"status": "administrator", "user": bot, "can_be_edited": False, "is_anonymous": False,
           "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
           "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
           "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
           "can_delete_stories": False, "can_manage_topics": True}
    new: dict[str, Any] = {**old, "status": status} if status == "administrator" else {"status": status, "user": bot}
    if status == "kicked":
        new["until_date"] = 0
    return {"my_chat_member": {"chat": GROUP_CHAT, "from": {"id": by, "is_bot": False, "first_name": "Admin"},
                               "date": 1, "old_chat_member": old, "new_chat_member": new}}
