"""Nothing acknowledged is lost (issue 14.3): a real `python -m bot run` / `python -m bot serve`, killed with -9 once
the platform was told the updates arrived (the polling offset moved past them, the webhooks got their 200) and
before any answer got through (the fake platforms hold every send), then restarted: every update is answered
exactly once, in each chat's order.

Before the durable inbox, `run` lost every update in PTB's memory (it confirms the offset before handling) and
`serve` every update on its in-memory queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from telegram.ext import Application

from bot.app import App
from bot.channels.telegram.application import ALLOWED_UPDATES
from bot.demo import DEMO_PEPPER
from bot.inbox.seal import Seal
from bot.inbox.telegram import DurablePolling, inbox_for
from bot.web.security import SIGNATURE_HEADER, sign
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.reliability.conftest import BUSY
from tests.reliability.serving import TELEGRAM_SECRET, Served, fetch, serve_process
from tests.reliability.test_crashes import START_WITHIN, start_bot, wait_until
from tests.reliability.test_disk_faults import small_tmpfs
from tests.reliability.test_nik_anywhere import leaks
from tests.telegram.user import TelegramUser
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser

# Commands with an answer of one message each that says which command it answers (the guide before the video: the
# guide's third step names the video too).
ANSWERS = {"/start": "Halo! Saya", "/bantuan": "Yang bisa saya bantu", "/hasil": "belum terhubung",
           "/panduan": "Panduan Mengikuti", "/video": "Tonton video", "/platform": "Bandingkan 7 platform"}
PLAN = [("/start", "/panduan"), ("/bantuan", "/video"), ("/hasil", "/start"), ("/video", "/platform")]  # 2 chats x 4
LIST_PROMPT = "Pilih salah satu:"  # WhatsApp: more than 3 buttons go in a list message after the answer
LAST = "/bantuan"  # sent to each chat after the restart: its answer comes after every earlier one of the chat


def markers(texts: list[str]) -> list[str]:
    """The command each answer answers, in order ("?" for an answer of none)."""
    return [next((command for command, marker in ANSWERS.items() if marker in text), "?") for text in texts]


def expected(chat: int) -> list[str]:
    return [pair[chat] for pair in PLAN] + [LAST]


@pytest.fixture
async def tg_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


def answers(api: FakeBotApi, chat_id: int) -> list[str]:
    return [str(c.params.get("text")) for c in api.calls_to("sendMessage", chat_id, ok=True)]


def wa_answers(api: FakeWhatsAppApi, wa_id: str) -> list[str]:
    return [b for b in api.bodies(wa_id) if b != LIST_PROMPT]  # the list prompt: the buttons of one answer


async def all_answered(tg_api: FakeBotApi, tg_users: list[TelegramUser], wa_api: FakeWhatsAppApi | None = None,
                       wa_users: tuple[WhatsAppUser, ...] | list[WhatsAppUser] = ()) -> None:
    """Until every chat got as many answers as it sent updates (PLAN, then LAST). Not until an answer of LAST's kind:
    chat 0 sent /bantuan earlier too, and the wait would end before LAST was answered."""
    await wait_until(lambda: all(len(answers(tg_api, u.chat_id)) >= len(expected(n)) for n, u in enumerate(tg_users))
                     and all(len(wa_answers(wa_api, u.wa_id)) >= len(expected(n))  # type: ignore[arg-type]
                             for n, u in enumerate(wa_users)), within=START_WITHIN)


async def test_run_killed_after_the_offset_moved_answers_every_update_once_in_order(
        app: App, api: FakeBotApi, tmp_path: Path) -> None:
    database, log = app.settings.database_path, tmp_path / "bot.log"
    users = [TelegramUser(None, api, user_id=7_301 + n) for n in range(2)]  # type: ignore[arg-type]
    bot = await start_bot(database, api, log)
    try:
        await api.wait_for("getUpdates", within=START_WITHIN)  # polling
        api.hold("sendMessage")  # no answer gets through
        last = 0
        for pair in PLAN:
            for user, text in zip(users, pair, strict=True):
                last = api.push_update({"message": user.text_message(text)})
        # Acknowledged: getUpdates was called with an offset past the last update.
        await api.wait_for(lambda c: c.method == "getUpdates" and int(c.params.get("offset") or 0) > last,
                           within=START_WITHIN)
    finally:
        bot.send_signal(signal.SIGKILL)
        assert await bot.wait() == -signal.SIGKILL
    api.release()

    bot = await start_bot(database, api, log)
    try:
        for user in users:
            api.push_update({"message": user.text_message(LAST)})
        await all_answered(api, users)
    finally:
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 15) == 0
    for n, user in enumerate(users):
        assert markers(answers(api, user.chat_id)) == expected(n), answers(api, user.chat_id)


async def telegram_post(client: httpx.AsyncClient, update: dict[str, object]) -> int:
    response = await client.post("/telegram/webhook", content=json.dumps(update).encode(),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                                          "Content-Type": "application/json"})
    return response.status_code


async def whatsapp_post(client: httpx.AsyncClient, user: WhatsAppUser, text: str) -> int:
    body = json.dumps(user.payload("text", text={"body": text})).encode()
    response = await client.post("/whatsapp/webhook", content=body,
                                 headers={SIGNATURE_HEADER: sign(body, APP_SECRET), "Content-Type": "application/json"})
    return response.status_code


@contextlib.asynccontextmanager
async def client_of(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
        yield client


async def post_plan(client: httpx.AsyncClient, tg_users: list[TelegramUser], wa_users: list[WhatsAppUser],
                    update_ids: Iterator[int]) -> None:
    """Every update of PLAN, each acknowledged (200)."""
    for pair in PLAN:
        for user, text in zip(tg_users, pair, strict=True):
            update = {"update_id": next(update_ids), "message": user.text_message(text)}
            assert await telegram_post(client, update) == 200
        for wa_user, text in zip(wa_users, pair, strict=True):
            assert await whatsapp_post(client, wa_user, text) == 200


async def post_last(client: httpx.AsyncClient, tg_api: FakeBotApi, wa_api: FakeWhatsAppApi,
                    tg_users: list[TelegramUser], wa_users: list[WhatsAppUser], update_ids: Iterator[int]) -> None:
    """LAST from every chat, and wait until each chat got its answer."""
    for user in tg_users:
        assert await telegram_post(client, {"update_id": next(update_ids), "message": user.text_message(LAST)}) == 200
    for wa_user in wa_users:
        assert await whatsapp_post(client, wa_user, LAST) == 200
    await all_answered(tg_api, tg_users, wa_api, wa_users)


def assert_answered_in_order(tg_api: FakeBotApi, wa_api: FakeWhatsAppApi, tg_users: list[TelegramUser],
                             wa_users: list[WhatsAppUser], log: str = "") -> None:
    """Every chat got each answer once, in the order of its updates (PLAN, then LAST)."""
    for n, user in enumerate(tg_users):
        assert markers(answers(tg_api, user.chat_id)) == expected(n), log
    for n, wa_user in enumerate(wa_users):
        assert markers(wa_answers(wa_api, wa_user.wa_id)) == expected(n), log


async def test_serve_killed_after_the_200s_answers_every_update_once_in_order(
        tmp_path: Path, wa_api: FakeWhatsAppApi, tg_api: FakeBotApi) -> None:
    tg_users = [TelegramUser(None, tg_api, user_id=7_401 + n) for n in range(2)]  # type: ignore[arg-type]
    wa_users = [WhatsAppUser(None, None, wa_api, APP_SECRET, wa_id=f"62812000074{n:02d}")  # type: ignore[arg-type]
                for n in range(2)]
    update_ids = iter(range(500_001, 600_000))
    async with serve_process(tmp_path, wa_api, tg_api) as served, client_of(served) as client:
        tg_api.hold("sendMessage")
        wa_api.hold()
        await post_plan(client, tg_users, wa_users, update_ids)
        served.process.send_signal(signal.SIGKILL)
        served.process.wait()
    tg_api.release()
    wa_api.release()

    async with serve_process(tmp_path, wa_api, tg_api) as served, client_of(served) as client:
        await post_last(client, tg_api, wa_api, tg_users, wa_users, update_ids)
    assert_answered_in_order(tg_api, wa_api, tg_users, wa_users)


async def test_polling_on_a_database_that_cannot_be_written_still_answers_busy(
        app: App, application: Application, api: FakeBotApi) -> None:
    """When the inbox cannot be written, `run` does not stall: the fetched updates are handled unstored, as before
    the inbox, so the user hears "Sistem sedang sibuk" (never silence); once writes work, polling goes on stored."""
    polling = DurablePolling(application, inbox_for(application, app.storage, DEMO_PEPPER))
    user = TelegramUser(None, api, user_id=7_700_001)  # type: ignore[arg-type]
    connection = app.storage.database.connection  # type: ignore[attr-defined]
    await application.start()
    await polling.start(timeout=1, allowed_updates=ALLOWED_UPDATES)
    try:
        await connection.execute("PRAGMA query_only = ON")  # every write fails: the inbox's first
        api.push_update({"message": user.text_message("/start")})
        await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user.chat_id
                           and BUSY in str(c.params.get("text")), within=START_WITHIN)
        assert polling.inbox.failing
        await connection.execute("PRAGMA query_only = OFF")
        update_id = api.push_update({"message": user.text_message("/bantuan")})
        await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user.chat_id
                           and ANSWERS["/bantuan"] in str(c.params.get("text")), within=START_WITHIN)
        assert not polling.inbox.failing
        async with asyncio.timeout(START_WITHIN):  # stored, handled, then marked done
            while str(update_id) in [e.update_id for e in await app.storage.inbox.unfinished("telegram")]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert await app.storage.database.fetchall("SELECT 1 FROM inbox WHERE update_id = ?", (str(update_id),))
    finally:
        await polling.stop()
        await application.stop()


def test_a_sealed_payload_holds_no_nik_and_opens_only_with_its_pepper() -> None:
    nik = "3107074611954820"  # generated: the shape of a NIK, nobody's
    plain = json.dumps({"message": {"text": f"NIK saya {nik[:4]} - {nik[4:8]} - {nik[8:12]} - {nik[12:]}"}}).encode()
    sealed = Seal(DEMO_PEPPER).close(plain)
    assert not leaks(sealed, nik) and sealed != Seal(DEMO_PEPPER).close(plain)  # a fresh nonce each time
    assert Seal(DEMO_PEPPER).open(sealed) == plain  # a restarted process opens it
    assert Seal(DEMO_PEPPER + "x").open(sealed) is None  # another pepper does not
    assert Seal(DEMO_PEPPER).open(sealed[:-4] + "AAAA") is None  # nor a damaged one


# --- a database that cannot be written (issue 14.4) -----------------------------------------------------------------
MOST_NEWCOMERS = 400  # newcomers sent until the full disk turns one away (each needs new rows)


async def health(served: Served) -> tuple[int, dict[str, bool]]:
    status, body = await fetch(served.port, "/healthz")
    return status, json.loads(body)["checks"]


async def test_serve_on_a_full_disk_refuses_with_503_never_a_silent_200_and_healthz_says_so(
        tmp_path: Path, wa_api: FakeWhatsAppApi, tg_api: FakeBotApi) -> None:
    """A real full filesystem (a 2 MB tmpfs): every update `serve` took (200) is answered; one it cannot store gets
    503 (the platform delivers it again), /healthz says the database cannot be written, and once space is freed the
    redelivery is answered."""
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        async with serve_process(tmp_path, wa_api, tg_api, DATABASE_PATH=str(disk / "serve.sqlite3")) as served, \
                client_of(served) as client:
            filler = disk / "filler.bin"
            with filler.open("wb") as handle, contextlib.suppress(OSError):  # until ENOSPC
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            taken: list[TelegramUser] = []
            refused: tuple[TelegramUser, dict[str, object]] | None = None
            for n in range(MOST_NEWCOMERS):
                user = TelegramUser(None, tg_api, user_id=7_500_000 + n)  # type: ignore[arg-type]
                update = {"update_id": 700_000 + n, "message": user.text_message("/start")}
                if await telegram_post(client, update) == 503:
                    refused = (user, update)
                    break
                taken.append(user)
            assert refused is not None, "the full disk never turned an update away"
            for user in taken:  # nothing taken is dropped: each one was answered (if only "Sistem sedang sibuk")
                await tg_api.wait_for(lambda c, u=user: c.method == "sendMessage" and c.chat_id == u.chat_id,
                                      within=START_WITHIN)
            status, checks = await health(served)
            assert status == 503 and checks["database_writable"] is False and checks["database_file"] is True
            wa_user = WhatsAppUser(None, None, wa_api, APP_SECRET, wa_id="6281200007599")  # type: ignore[arg-type]
            assert await whatsapp_post(client, wa_user, "/start") == 503
            assert wa_api.to(wa_user.wa_id) == []
            filler.unlink()
            user, update = refused
            assert await telegram_post(client, update) == 200  # Telegram's redelivery
            await tg_api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user.chat_id
                                  and ANSWERS["/start"] in str(c.params.get("text")), within=START_WITHIN)
            assert await whatsapp_post(client, wa_user, "/start") == 200
            await wait_until(lambda: bool(wa_api.to(wa_user.wa_id)), within=START_WITHIN)
            assert (await health(served))[0] == 200


async def test_serve_notices_its_database_file_deleted_and_refuses_updates(
        tmp_path: Path, wa_api: FakeWhatsAppApi, tg_api: FakeBotApi) -> None:
    """Deleted under the running process, the database lives on as an unlinked file that a restart never sees:
    /healthz says so, and updates get 503 instead of a 200 whose work would vanish."""
    async with serve_process(tmp_path, wa_api, tg_api) as served, client_of(served) as client:
        user = TelegramUser(None, tg_api, user_id=7_600_001)  # type: ignore[arg-type]
        assert await telegram_post(client, {"update_id": 800_001, "message": user.text_message("/start")}) == 200
        await tg_api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user.chat_id, within=START_WITHIN)
        (tmp_path / "serve.sqlite3").unlink()
        checks: dict[str, bool] = {}

        async def reported() -> bool:
            nonlocal checks
            status, checks = await health(served)
            return status == 503

        async with asyncio.timeout(START_WITHIN):  # the file is looked at once a second
            while not await reported():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert checks["database_file"] is False
        assert await telegram_post(client, {"update_id": 800_002, "message": user.text_message("/bantuan")}) == 503
        assert "deleted" in served.log
