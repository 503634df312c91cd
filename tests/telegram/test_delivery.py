"""Sending: Telegram errors never break an update, long answers are split, buttons edit their message,
one chat's updates stay in order while other chats go ahead, and a restart in the middle of linking."""

from __future__ import annotations

import logging
import time

import pytest
from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import Application

from bot.app import App, open_app
from bot.channels.telegram import ChatOrderedProcessor, build_application
from bot.channels.telegram.delivery import Delivery
from bot.channels.telegram.markup import visible
from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.settings import Settings
from handlers.api import Button, Event, EventKind, Notice, Outgoing, Reply
from handlers.roles import Channel
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram.user import TelegramUser


async def test_blocked_user_does_not_break_the_update(user: TelegramUser, api: FakeBotApi,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    api.blocked(user.chat_id)
    with caplog.at_level(logging.INFO, logger="bot.channels.telegram"):
        calls = await user.send("/start")
    assert [c.status for c in calls if c.method == "sendMessage"] == [403]
    assert "blocked" in caplog.text
    api.clear_faults()
    await user.send("/start")
    assert "Asisten Prakerja" in user.text


async def test_flood_control_is_waited_out_once(user: TelegramUser, api: FakeBotApi) -> None:
    api.too_many_requests(retry_after=1, method="sendMessage")
    started = time.monotonic()
    calls = await user.send("/start")
    sends = [c for c in calls if c.method == "sendMessage"]
    assert [c.status for c in sends] == [429, 200] and sends[1].at - sends[0].at >= 1.0
    assert time.monotonic() - started < 3


async def test_long_flood_wait_drops_the_answer_without_blocking(user: TelegramUser, api: FakeBotApi) -> None:
    api.too_many_requests(retry_after=3600, method="sendMessage")
    calls = await user.send("/start")
    assert [c.status for c in calls if c.method == "sendMessage"] == [429]


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_logged_not_raised(user: TelegramUser, api: FakeBotApi, status: int,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    api.server_error(status, method="sendMessage", times=2)
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        calls = await user.send("/start")
    assert [c.status for c in calls if c.method == "sendMessage"] == [status, status]  # retried once, then given up
    assert "failed" in caplog.text


async def test_slow_api_still_answers(user: TelegramUser, api: FakeBotApi) -> None:
    api.slow(0.2, method="answerCallbackQuery")
    await user.send("/start")
    await user.press("Panduan")
    assert "Panduan Mengikuti Pelatihan" in user.text


def event_for(user: TelegramUser, kind: EventKind = EventKind.ACTION) -> Event:
    return Event(channel=Channel.TELEGRAM, chat_id=str(user.chat_id), user_id=str(user.user_id), kind=kind)


async def callback_update(user: TelegramUser) -> Update:
    await user.send("/start")
    query = {"id": "q1", "from": user.sender(), "chat_instance": "c", "data": "go:menu",
             "message": user.latest_bot_message()}
    return Update.de_json({"update_id": 90, "callback_query": query}, user.application.bot)


async def test_long_answer_is_split_under_telegrams_limit(user: TelegramUser, application: Application,
                                                         api: FakeBotApi) -> None:
    line = "<b>Pelatihan</b> Microsoft Excel &amp; Word untuk administrasi kantor 😀\n"
    reply = Reply(line * 200, (((Button("Menu", "go", "menu")),),))
    update = await callback_update(user)
    mark = len(api.calls)
    await Delivery(application.bot).deliver(update, event_for(user), Outgoing(replies=[reply]))
    sent = [c for c in api.calls[mark:] if c.method == "sendMessage"]
    assert len(sent) > 1 and all(c.status == 200 for c in sent)
    assert all(visible(c.params["text"]) <= MessageLimit.MAX_TEXT_LENGTH for c in sent)
    assert [bool(c.params.get("reply_markup")) for c in sent] == [False] * (len(sent) - 1) + [True]
    assert sum(c.params["text"].count("Excel") for c in sent) == 200


async def test_button_reply_edits_its_message_or_sends_new(user: TelegramUser, application: Application,
                                                           api: FakeBotApi) -> None:
    update = await callback_update(user)
    delivery = Delivery(application.bot)
    page = Outgoing(replies=[Reply("Halaman 2", replace=True)])
    await delivery.deliver(update, event_for(user), page)
    assert api.calls[-1].method == "editMessageText" and api.calls[-1].params["message_id"] == \
        update.callback_query.message.message_id
    await delivery.deliver(update, event_for(user), page)  # same content again: "not modified" is fine
    assert api.calls[-1].method == "editMessageText" and api.calls[-1].status == 400
    api.inject("editMessageText", status=400, description="Bad Request: message can't be edited")
    await delivery.deliver(update, event_for(user), Outgoing(replies=[Reply("Halaman 3", replace=True)]))
    assert [c.method for c in api.calls[-2:]] == ["editMessageText", "sendMessage"]
    assert api.calls[-1].params["text"] == "Halaman 3"


async def test_notices_go_to_telegram_chats_only(user: TelegramUser, application: Application, api: FakeBotApi,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    update = await callback_update(user)
    caplog.set_level(logging.INFO, logger="bot.channels.telegram")
    outgoing = Outgoing(notices=[Notice(Channel.TELEGRAM, "777", Reply("Halo chat lama")),
                                 Notice(Channel.WHATSAPP, "6281100000001", Reply("Halo WA"))])
    await Delivery(application.bot).deliver(update, event_for(user), outgoing)
    assert api.texts(777) == ["Halo chat lama"]
    assert "whatsapp" in caplog.text


async def test_one_chat_in_order_other_chats_concurrently(app: App, tg_settings: Settings,
                                                          api: FakeBotApi) -> None:
    application = build_application(app, tg_settings, max_concurrent_updates=8)
    processor = application.update_processor
    assert isinstance(processor, ChatOrderedProcessor)
    api.slow(0.3, method="sendMessage", chat_id=1111)  # chat 1111 is slow to answer
    async with application:
        await application.start()
        slow_chat = TelegramUser(application, api, user_id=1111)
        fast_chat = TelegramUser(application, api, user_id=2222)
        for update in ({"message": slow_chat.text_message("/start")},
                       {"message": slow_chat.text_message("/bantuan")},
                       {"message": fast_chat.text_message("/start")}):
            await application.update_queue.put(Update.de_json({"update_id": 1, **update}, application.bot))
        await api.wait_for("sendMessage", count=3, within=5)
        await application.stop()
    answers = [(c.chat_id, c.params["text"][:20]) for c in api.calls_to("sendMessage")]
    assert answers[0][0] == 2222  # the fast chat did not wait behind the slow one
    slow = [text for chat, text in answers if chat == 1111]
    assert slow[0].startswith("Halo!") and slow[1].startswith("<b>Yang bisa saya")  # in order within the chat
    assert processor.active_chats == 0  # no lock left behind


async def test_restart_in_the_middle_of_linking(app: App, tg_settings: Settings, api: FakeBotApi,
                                                people: list[DemoApplicant]) -> None:
    siti = people[0]
    first = build_application(app, tg_settings)
    async with first:
        user = TelegramUser(first, api, user_id=4004)
        await user.send("/hubungkan")
        await user.share_contact(siti.phone)
        assert "16 digit NIK" in user.text
    await app.close()  # the process stops here; the step is in the SQLite file
    reopened = await open_app(tg_settings, pepper=DEMO_PEPPER)
    try:
        async with build_application(reopened, tg_settings) as second:
            user = TelegramUser(second, api, user_id=4004)
            await user.send(siti.nik)
            assert "Berhasil" in user.text
    finally:
        await reopened.close()


async def test_a_reply_with_a_photo_is_sent_as_a_photo_with_its_caption(application: Application,
                                                                         api: FakeBotApi) -> None:
    """An admin's broadcast preview shows the photo as applicants will see it; a long text follows the photo."""
    from bot.channels.telegram.delivery import Delivery
    from bot.channels.telegram.markup import parts
    from handlers.api import Reply

    delivery = Delivery(application.bot)
    for part in parts(Reply("<b>Info</b> gelombang 5", photo="PHOTO-FILE-ID")):
        await delivery.send(7001, part)
    photo = api.calls_to("sendPhoto")[0]
    assert photo.params["photo"] == "PHOTO-FILE-ID" and "gelombang 5" in photo.params["caption"]
    for part in parts(Reply("x" * 2000, photo="PHOTO-FILE-ID")):  # over the 1,024-character caption limit
        await delivery.send(7002, part)
    assert [c.method for c in api.calls if c.chat_id == 7002] == ["sendPhoto", "sendMessage"]


async def test_answers_do_not_wait_for_the_deletion_or_the_callback_answer(
        user: TelegramUser, api: FakeBotApi, people: list[DemoApplicant]) -> None:
    """Deleting a NIK message and stopping a button's spinner go out beside the answer, not before it: on a
    network with 200 ms round trips that is 200 ms sooner for every NIK and every button press."""
    api.slow(0.5, method="deleteMessage")
    api.slow(0.5, method="answerCallbackQuery")
    await user.send("/hubungkan")
    await user.share_contact(people[0].phone)
    # The server records a call when it has answered it, so the order of `calls` is the order they were done:
    # the answer done before the slow call means it did not wait for it (whatever the machine's speed).
    calls = await user.send(people[0].nik)
    answer = next(i for i, c in enumerate(calls) if c.method == "sendMessage" and "Berhasil" in c.params["text"])
    assert answer < next(i for i, c in enumerate(calls) if c.method == "deleteMessage")
    await user.send("/menu")
    calls = await user.press("Kartu")
    assert user.replies and calls.index(user.replies[0]) < calls.index(user.calls("answerCallbackQuery")[0])
