"""Channels and groups the bot should leave alone (issue 14.9): through the real Application and the fake Bot API."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.channels.telegram import build_application
from bot.channels.telegram.groups import GROUP_REPLY_EVERY_S
from bot.demo import DemoApplicant
from bot.settings import Settings
from tests.auxil.fake_bot_api import BOT_USERNAME, FakeBotApi
from tests.telegram.user import TelegramUser

GROUP = {"id": -100777, "type": "supergroup", "title": "Alumni Prakerja"}
OTHER_GROUP = {"id": -4242, "type": "group", "title": "Keluarga"}
CHANNEL = {"id": -100888, "type": "channel", "title": "Info Prakerja"}
POINTER = "chat pribadi"  # the group answer: "... saya hanya melayani lewat chat pribadi ..."
MENU_BUTTON = {"inline_keyboard": [[{"text": "Menu", "callback_data": "go:menu"}]]}


def said(calls: list[Any]) -> list[tuple[str, object]]:
    """What the bot sent or edited, and where."""
    return [(c.method, c.chat_id) for c in calls if c.method in ("sendMessage", "editMessageText", "sendPhoto")]


async def test_a_button_under_a_channel_post_is_answered_silently(make_user) -> None:  # type: ignore[no-untyped-def]
    reader = make_user(1001)
    post = {"message_id": 5, "date": 0, "chat": CHANNEL, "text": "Pendaftaran gelombang 8 dibuka",
            "reply_markup": MENU_BUTTON}
    calls = await reader.callback("go:menu", post)
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # the spinner stops; nothing is posted


async def test_a_button_in_a_group_is_answered_silently(make_user) -> None:  # type: ignore[no-untyped-def]
    member = make_user(1001, chat=GROUP)
    message = {"message_id": 6, "date": 0, "chat": GROUP, "text": "Menu", "reply_markup": MENU_BUTTON,
               "from": {"id": 123456789, "is_bot": True, "first_name": "Asisten Prakerja"}}
    calls = await member.callback("go:hasil", message)
    assert [c.method for c in calls] == ["answerCallbackQuery"]


async def test_group_chatter_media_and_stories_get_no_reply(make_user) -> None:  # type: ignore[no-untyped-def]
    member = make_user(1001, chat=GROUP)
    assert said(await member.send("halo semua, ada info lowongan kerja?")) == []
    assert said(await member.feed({"message": member.message(
        photo=[{"file_id": "p", "file_unique_id": "p", "width": 9, "height": 9}], caption="brosur")})) == []
    assert said(await member.feed({"message": member.message(
        story={"chat": {"id": 1001, "type": "private", "first_name": "Siti"}, "id": 7})})) == []
    assert said(await member.sticker()) == []
    assert said(await member.send("hasil")) == []  # a menu word is not a command to the bot in a group


async def test_in_a_group_the_bot_answers_when_addressed_at_most_once_an_hour(
        app: App, tg_settings: Settings, api: FakeBotApi) -> None:
    now = [1000.0]
    async with build_application(app, tg_settings, clock=lambda: now[0]) as application:
        member = TelegramUser(application, api, user_id=1001, chat=GROUP)
        await member.send("/hasil")
        assert POINTER in member.text and said(member.last) == [("sendMessage", GROUP["id"])]
        pointer = member.latest_bot_message()
        assert said(await member.send(f"/start@{BOT_USERNAME}")) == []  # addressed, but within the hour
        assert said(await member.send(f"@{BOT_USERNAME} bagaimana cara cek hasil?")) == []

        cousin = TelegramUser(application, api, user_id=1002, chat=OTHER_GROUP)  # another group: its own hour
        mention = f"tanya ke @{BOT_USERNAME.lower()} saja"
        message = cousin.message(text=mention, entities=[
            {"type": "mention", "offset": mention.index("@"), "length": len(BOT_USERNAME) + 1}])
        await cousin.feed({"message": message})
        assert POINTER in cousin.text

        now[0] += GROUP_REPLY_EVERY_S  # an hour later: a reply to the bot's message is addressed to it
        await member.feed({"message": member.message(text="maksudnya bagaimana?", reply_to_message=pointer)})
        assert POINTER in member.text
        assert said(await member.send("terima kasih")) == []


async def test_a_nik_in_a_group_is_deleted_without_a_word(make_user, people: list[DemoApplicant]  # type: ignore[no-untyped-def]
                                                          ) -> None:
    member = make_user(1001, chat=GROUP)
    calls = await member.send(f"NIK saya {people[0].nik} kok belum lolos")
    assert said(calls) == []
    deleted = [c for c in calls if c.method == "deleteMessage"]
    assert deleted and deleted[0].params["chat_id"] == GROUP["id"]
