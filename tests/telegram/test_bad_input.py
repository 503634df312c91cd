"""Bad input of every kind gets a clear Indonesian answer (never silence, never a traceback); foreign updates
are ignored without error."""

from __future__ import annotations

import pytest

from bot.demo import DemoApplicant
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram.user import TelegramUser

SORRY = "kesalahan di sistem"  # the router's apology for a bug: must never show


def answered(user: TelegramUser) -> str:
    assert user.replies, "the bot stayed silent"
    assert SORRY not in user.text
    return user.text


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "😀🙏🇮🇩", "<b>halo</b> & <script>", "/", "/ tanya"])
async def test_odd_text_gets_the_menu(user: TelegramUser, text: str) -> None:
    await user.send(text)
    answered(user)
    assert "Hubungkan akun" in user.labels or "Menu" in user.labels  # the menu, or the way to it (issue 13)


async def test_unknown_command_gets_the_menu(user: TelegramUser) -> None:
    await user.send("/tidakada argumen")
    assert "belum mengerti" in answered(user)


@pytest.mark.parametrize(("nik", "expected"), [
    ("12345", "baru 5 digit"),
    ("1" * 20, "lebih panjang"),
    ("32AB567890123456", "hanya berisi angka"),
    ("😀" * 16, "hanya berisi angka"),
])
async def test_malformed_nik_costs_no_attempt(user: TelegramUser, people: list[DemoApplicant], nik: str,
                                              expected: str) -> None:
    await user.send("/hubungkan")
    await user.share_contact(people[0].phone)
    await user.send(nik)
    assert expected in answered(user) and "Sisa" not in user.text


async def test_unknown_callback_data(user: TelegramUser) -> None:
    await user.send("/start")
    calls = await user.callback("tidak:ada:apa-apa")
    assert calls[0].method == "answerCallbackQuery"  # the button stops spinning first
    assert "tidak berlaku" in answered(user)


@pytest.mark.parametrize("data", ["unlink_yes", "go:admin", "go:", "locale:xx", "", "x" * 64])
async def test_forged_callback_data_does_nothing_it_should_not(user: TelegramUser, data: str) -> None:
    await user.send("/start")
    await user.callback(data)
    assert user.calls("answerCallbackQuery")
    text = answered(user)
    assert "tidak lagi terhubung" not in text  # "unlink_yes" on a chat that never linked


async def test_edited_message_is_not_processed(user: TelegramUser, people: list[DemoApplicant]) -> None:
    await user.send("/hubungkan")
    await user.share_contact(people[0].phone)
    await user.edit(1, people[0].nik)
    assert "diubah" in answered(user) and "Berhasil" not in user.text


async def test_group_message_points_to_the_private_chat(make_user) -> None:  # type: ignore[no-untyped-def]
    member = make_user(1001, chat={"id": -100123, "type": "supergroup", "title": "Alumni Prakerja"})
    await member.send("/hasil")
    assert "chat pribadi" in answered(member)
    assert member.replies[0].chat_id == -100123


async def test_group_command_for_another_bot_is_ignored(make_user, api: FakeBotApi) -> None:  # type: ignore[no-untyped-def]
    member = make_user(1001, chat={"id": -100123, "type": "supergroup", "title": "Alumni Prakerja"})
    assert await member.send("/start@SomeOtherBot") == []


async def test_sticker_gets_something_friendly_and_the_menu(user: TelegramUser) -> None:
    await user.sticker()
    assert "Stikernya sudah saya terima" in answered(user) and "mengerti" not in user.text  # issue 13
    assert user.labels == ["Menu"]


async def test_photo_voice_and_document(user: TelegramUser) -> None:
    await user.feed({"message": user.message(photo=[{"file_id": "p", "file_unique_id": "p", "width": 9,
                                                       "height": 9}], caption="ktp saya")})
    assert "hanya bisa membaca" in answered(user)
    await user.feed({"message": user.message(voice={"file_id": "v", "file_unique_id": "v", "duration": 3})})
    assert "hanya bisa membaca" in answered(user)
    await user.feed({"message": user.message(document={"file_id": "d", "file_unique_id": "d",
                                                       "file_name": "ktp.pdf", "mime_type": "application/pdf"})})
    assert "dokumen pribadi" in answered(user)


async def test_updates_without_a_user_are_ignored(user: TelegramUser, api: FakeBotApi) -> None:
    channel = {"id": -1001, "type": "channel", "title": "Info"}
    post = {"message_id": 5, "date": 0, "chat": channel, "text": "/start"}
    assert await user.feed({"channel_post": post}) == []
    poll = {"id": "1", "question": "?", "options": [], "total_voter_count": 0, "is_closed": False,
            "is_anonymous": True, "type": "regular", "allows_multiple_answers": False, "allows_revoting": False,
            "members_only": False}
    assert await user.feed({"poll": poll}) == []
    member = {"chat": {"id": 1001, "type": "private"}, "from": user.sender(), "date": 0,
              "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "b"}},
              "new_chat_member": {"status": "kicked", "until_date": 0,
                                  "user": {"id": 1, "is_bot": True, "first_name": "b"}}}
    assert await user.feed({"my_chat_member": member}) == []


async def test_callback_from_an_inline_message_is_answered_and_ignored(user: TelegramUser) -> None:
    query = {"id": "cq-inline", "from": user.sender(), "chat_instance": "c", "inline_message_id": "im1",
             "data": "go:menu"}
    calls = await user.feed({"callback_query": query})
    assert [c.method for c in calls] == ["answerCallbackQuery"]
