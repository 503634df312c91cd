"""`python -m bot whoami`: a person learns their Telegram user id, a group its id (for ADMIN_IDS, SUPPORT_IDS,
SUPPORT_CHAT_ID), from the bot itself; no database, no pepper."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.settings import SettingsError, load_settings
from bot.whoami import run_whoami
from tests.auxil.fake_bot_api import FakeBotApi

GROUP = -1001234567890


def texts(api: FakeBotApi, chat_id: int) -> str:
    return "\n".join(api.texts(chat_id))


async def test_a_person_and_the_support_group_learn_their_ids(api: FakeBotApi,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(telegram_bot_token=api.token, telegram_api_url=api.base_url)
    stop = asyncio.Event()
    task = asyncio.create_task(run_whoami(settings, stop=stop))
    now = int(time.time())
    person = {"id": 5550001, "is_bot": False, "first_name": "Rina", "username": "rina_admin"}
    api.push_update({"message": {"message_id": 1, "date": now, "chat": {"id": 5550001, "type": "private"},
                                 "from": person, "text": "halo"}})
    group = {"id": GROUP, "type": "supergroup", "title": "Petugas Prakerja", "is_forum": True}
    bot = {"id": api.bot_id, "is_bot": True, "first_name": "Asisten"}
    api.push_update({"my_chat_member": {
        "chat": group, "from": person, "date": now,
        "old_chat_member": {"status": "member", "user": bot},
        "new_chat_member": {"status": "administrator", "user": bot, "can_be_edited": False, "is_anonymous": False,
                            "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
                            "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                            "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                            "can_delete_stories": False, "can_manage_topics": True}}})
    await api.wait_for("sendMessage", count=2, within=10)
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    assert "Id Telegram Anda: <code>5550001</code>" in texts(api, 5550001)
    group_text = texts(api, GROUP)
    assert f"Id grup ini: <code>{GROUP}</code>" in group_text and "⚠️" not in group_text  # a forum, bot an admin
    out = capsys.readouterr().out
    assert "user Rina (@rina_admin): 5550001" in out and f"group Petugas Prakerja: {GROUP} (forum: yes" in out


async def test_a_group_without_topics_is_told_what_to_change(api: FakeBotApi) -> None:
    settings = load_settings(telegram_bot_token=api.token, telegram_api_url=api.base_url)
    api.push_update({"message": {"message_id": 1, "date": int(time.time()), "text": "/id",
                                 "chat": {"id": -4001, "type": "group", "title": "Tim"},
                                 "from": {"id": 42, "is_bot": False, "first_name": "Budi"}}})
    assert await asyncio.wait_for(run_whoami(settings, once=True), 10) == 0
    text = texts(api, -4001)
    assert "<code>-4001</code>" in text and "aktifkan Topik" in text and "Id Telegram Anda: <code>42</code>" in text


async def test_refuses_while_serve_owns_the_updates(api: FakeBotApi) -> None:
    api.webhook_url = "https://bot.example.test/telegram/webhook"
    settings = load_settings(telegram_bot_token=api.token, telegram_api_url=api.base_url)
    with pytest.raises(SettingsError, match="the bot has a webhook"):
        await run_whoami(settings, once=True)
