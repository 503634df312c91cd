"""The web server: authentication before parsing, redelivery handled once (also after a restart), statuses,
/healthz, /metrics, the Telegram webhook's secret, and `serve` refusing to start without a platform's secret."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.__main__ import main
from bot.app import App, open_app
from bot.channels.telegram.request import lean_request
from bot.channels.whatsapp.inbound import parse as parse_whatsapp
from bot.demo import DEMO_PEPPER
from bot.settings import load_settings
from bot.web import Web
from bot.web.queue import KeyedQueue
from bot.web.security import sign
from bot.web.serve import build_web, listen
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET, METRICS_AUTH, VERIFY_TOKEN, make_web, wa_settings
from tests.whatsapp.user import WhatsAppUser, fixture, message_of

SITI = "6281100000001"
TELEGRAM_SECRET = "tg-webhook-secret_123"


async def test_verification_handshake(http: httpx.AsyncClient) -> None:
    ok = await http.get("/whatsapp/webhook", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                     "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await http.get("/whatsapp/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                        "hub.challenge": "1"})
    assert wrong.status_code == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
async def test_forged_or_missing_signature_is_refused_and_nothing_happens(
    user: WhatsAppUser, wa_api: FakeWhatsAppApi, web: Web, signature: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    response = await user.post(user.payload("text", text={"body": "menu"}), signature=signature)
    assert response.status_code == 401
    await web.queue.join()
    assert wa_api.sent == []
    assert "WhatsApp webhook refused" in caplog.text


async def test_signature_of_another_body_is_refused(user: WhatsAppUser, wa_api: FakeWhatsAppApi) -> None:
    signed = json.dumps(user.payload("text", text={"body": "menu"})).encode()
    tampered = signed.replace(b"menu", b"hasil")
    response = await user.post(tampered, signature=sign(signed, APP_SECRET))
    assert response.status_code == 401 and wa_api.sent == []


async def test_redelivered_message_is_handled_once(user: WhatsAppUser, wa_api: FakeWhatsAppApi) -> None:
    payload = user.payload("text", text={"body": "menu"})
    assert len(await user.deliver(payload)) == 1
    assert await user.deliver(copy.deepcopy(payload)) == []  # Meta retried: 200, but no second answer
    assert len(wa_api.sent) == 1


async def test_a_message_twice_in_one_body_is_handled_once(user: WhatsAppUser, wa_api: FakeWhatsAppApi) -> None:
    payload = user.payload("text", text={"body": "menu"})
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(copy.deepcopy(value["messages"][0]))  # the same id again, in the same body
    assert len(await user.deliver(payload)) == 1


async def test_redelivery_after_a_restart_on_the_same_database_is_handled_once(
    app: App, wa_api: FakeWhatsAppApi, tmp_path: Path
) -> None:
    settings = wa_settings(tmp_path, wa_api)
    payload = None
    for _ in range(2):  # the second round is a new process: a new App on the same SQLite file
        application = await open_app(settings, pepper=DEMO_PEPPER)
        web = make_web(application, settings)
        try:
            async with web.running(), httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette),
                                                        base_url="http://bot.test") as http:
                user = WhatsAppUser(http, web, wa_api, APP_SECRET)
                payload = payload or user.payload("text", text={"body": "menu"})
                await user.deliver(copy.deepcopy(payload))
        finally:
            await application.close()
    assert len(wa_api.to(SITI)) == 1


async def test_a_stored_body_of_one_message_and_statuses_is_answered_once_after_a_restart(
    wa_api: FakeWhatsAppApi, tmp_path: Path
) -> None:
    """A body of one message is stored as it came (not written out again), status callbacks and all: read back after
    a crash, it is that message, answered once; the inbox alone keeps its id (no `webhook_seen` row besides)."""
    settings = wa_settings(tmp_path, wa_api)
    for round_ in range(2):  # the first process stores the body before its 200 and dies before handling it
        application = await open_app(settings, pepper=DEMO_PEPPER)
        web = make_web(application, settings)
        try:
            async with web.running():
                if round_ == 0:
                    maker = WhatsAppUser(None, web, wa_api, APP_SECRET)  # type: ignore[arg-type]  # payloads only
                    payload = maker.payload("text", text={"body": "menu"})
                    payload["entry"][0]["changes"][0]["value"]["statuses"] = [
                        {"id": "wamid.EARLIER", "status": "read", "timestamp": "1700000000", "recipient_id": SITI}]
                    messages = parse_whatsapp(payload, settings.whatsapp_phone_id).messages
                    body = json.dumps(payload).encode()
                    assert len(await web.inbox.store_whatsapp(payload, messages, body)) == 1
                else:
                    await web.queue.join()
                    database = application.storage.database  # type: ignore[attr-defined]  # SQLite's engine
                    seen = await database.fetchval("SELECT count(*) FROM webhook_seen")
        finally:
            await application.close()
    assert len(wa_api.to(SITI)) == 1
    assert seen == 0


async def test_one_chat_in_order_many_chats_at_once(user: WhatsAppUser, web: Web, wa_api: FakeWhatsAppApi) -> None:
    payloads = [user.payload("text", text={"body": word}) for word in ("menu", "bantuan", "video", "panduan")]
    for payload in payloads:
        assert (await user.post(payload)).status_code == 200  # answered before any is handled
    await web.queue.join()
    bodies = wa_api.bodies(SITI)
    assert "Pilih yang Anda perlukan" in bodies[0] and "/hasil" in bodies[1]
    assert "Tonton video" in bodies[2] and "Panduan Mengikuti" in bodies[3]


async def test_keyed_queue_runs_chats_concurrently_and_refuses_when_full() -> None:
    queue = KeyedQueue(workers=4, max_pending=3)
    order: list[str] = []
    gate = asyncio.Event()

    def job(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            await gate.wait()
            order.append(name)
        return run

    queue.start()
    assert queue.submit("a", job("a1")) and queue.submit("a", job("a2")) and queue.submit("b", job("b1"))
    assert not queue.submit("c", job("c1"))  # full: the web server answers 503, the platform retries
    gate.set()
    await queue.join()
    assert order.index("a1") < order.index("a2") and set(order) == {"a1", "a2", "b1"}
    await queue.stop()


async def test_status_callbacks_keep_the_furthest_status(user: WhatsAppUser, app: App) -> None:
    [sent] = await user.text("menu")
    status = fixture("status")
    value = status["entry"][0]["changes"][0]["value"]
    for state in ("sent", "read", "delivered"):  # out of order: a late "delivered" does not undo "read"
        value["statuses"][0].update(id=sent.id, status=state)
        assert (await user.post(copy.deepcopy(status))).status_code == 200
    await user.web.queue.join()
    assert await app.storage.whatsapp.statuses([sent.id]) == {sent.id: "read"}
    failed = fixture("status_failed")
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.OTHER"
    await user.post(failed)
    await user.web.queue.join()
    assert await app.storage.whatsapp.statuses(["wamid.OTHER"]) == {"wamid.OTHER": "failed"}


async def test_status_callbacks_arriving_together_keep_the_furthest_status(user: WhatsAppUser, app: App) -> None:
    """Meta batches callbacks in one payload, and posts several at once: they are written together."""
    status = fixture("status")
    template = status["entry"][0]["changes"][0]["value"]["statuses"][0]
    many = copy.deepcopy(status)
    many["entry"][0]["changes"][0]["value"]["statuses"] = [
        {**template, "id": "wamid.A", "status": state} for state in ("delivered", "read", "sent", "delivered")]
    alone = [copy.deepcopy(status) for _ in range(3)]
    for payload, state in zip(alone, ("read", "sent", "delivered"), strict=True):
        payload["entry"][0]["changes"][0]["value"]["statuses"][0].update(id="wamid.B", status=state)
    answers = await asyncio.gather(user.post(many), *(user.post(p) for p in alone))
    assert [a.status_code for a in answers] == [200] * 4
    await user.web.queue.join()
    assert await app.storage.whatsapp.statuses(["wamid.A", "wamid.B"]) == {"wamid.A": "read", "wamid.B": "read"}


@pytest.mark.parametrize("name", ["image", "audio", "unsupported", "document"])
async def test_media_gets_a_clear_answer(user: WhatsAppUser, name: str) -> None:
    await user.send(name)
    assert "Saya hanya bisa membaca" in user.text_out or "Saya tidak memproses berkas" in user.text_out


async def test_a_sticker_gets_something_friendly(user: WhatsAppUser) -> None:
    await user.send("sticker")
    assert "Stikernya sudah saya terima" in user.text_out and "mengerti" not in user.text_out  # issue 13


async def test_reactions_are_ignored_and_welcome_gets_the_menu(user: WhatsAppUser) -> None:
    assert await user.send("reaction") == []
    await user.send("text", type="request_welcome")
    assert "Asisten Prakerja" in user.text_out


async def test_template_quick_reply_and_contact_card(user: WhatsAppUser) -> None:
    await user.send("template_button")  # "Lihat hasil" under an announcement: not linked yet
    assert "belum terhubung" in user.text_out
    await user.send("contacts")  # the sender's own contact card: linking with the sender's number
    assert "NIK" in user.text_out


async def test_healthz_and_metrics(user: WhatsAppUser, http: httpx.AsyncClient) -> None:
    await user.text("hasil")
    await user.post(user.payload("text"), signature=None)
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json()["checks"]["database"] is True
    metrics = (await http.get("/metrics", headers=METRICS_AUTH)).text
    assert 'prakerja_updates_total{channel="whatsapp",handler="hasil"} 1' in metrics
    assert 'prakerja_webhook_requests_total{channel="whatsapp",outcome="bad_signature"} 1' in metrics
    assert 'prakerja_handler_seconds_count{channel="whatsapp"} 1' in metrics
    assert "prakerja_link_failures_total 0" in metrics and 'prakerja_outbox_deliveries{state="pending"}' in metrics


async def test_telegram_webhook_needs_the_secret_and_handles_an_update_once(
    app: App, tmp_path: Path
) -> None:
    async with FakeBotApi() as api:
        settings = load_settings(database_path=tmp_path / "bot.sqlite3", nik_pepper=DEMO_PEPPER,
                                 telegram_bot_token=api.token, telegram_api_url=api.base_url,
                                 telegram_webhook_secret=TELEGRAM_SECRET, public_url="https://bot.example.test")
        web = build_web(app, settings)
        async with web.running(), httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette),
                                                    base_url="http://bot.test") as http:
            assert api.webhook_url == "https://bot.example.test/telegram/webhook"
            update = {"update_id": 5001, "message": {
                "message_id": 1, "date": 1767225600, "chat": {"id": 1001, "type": "private"},
                "from": {"id": 1001, "is_bot": False, "first_name": "Siti", "language_code": "id"},
                "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                refused = await http.post("/telegram/webhook", json=update, headers=headers)
                assert refused.status_code == 403
            good = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            assert (await http.post("/telegram/webhook", json=update, headers=good)).status_code == 200
            assert (await http.post("/telegram/webhook", json=update, headers=good)).status_code == 200
            await api.wait_for("sendMessage", count=1)
            await asyncio.sleep(0.1)  # a second answer would come now if the redelivery were handled
            assert len(api.calls_to("sendMessage", chat_id=1001)) == 1


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter.retry_after
async def test_telegram_answers_over_the_lean_request_fail_as_with_httpx() -> None:
    """`serve` sends its Telegram answers over LeanRequest: PTB still sees the Bot API's errors as its own."""
    async with FakeBotApi() as api:
        bot = Bot(api.token, base_url=api.base_url, request=lean_request(2))
        async with bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Menu", callback_data="go:menu")]])
            assert (await bot.send_message(1001, "<b>Halo</b>", parse_mode="HTML", reply_markup=keyboard)).text
            sent = api.calls_to("sendMessage", chat_id=1001)[-1].params
            assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "go:menu"
            api.blocked(1002, times=1)
            with pytest.raises(Forbidden):
                await bot.send_message(1002, "x")
            api.too_many_requests(retry_after=3, times=1)
            with pytest.raises(RetryAfter):
                await bot.send_message(1003, "x")
            api.reset_connection(times=1)
            with pytest.raises(NetworkError):
                await bot.send_message(1004, "x")
            assert (await bot.send_message(1004, "lagi")).text == "lagi"  # a fresh connection after the reset


async def test_serve_answers_each_request_without_waiting_for_the_clients_ack() -> None:
    """`serve` listens on a socket of its own (bot/web/serve.py `listen`): its connections must have Nagle off, as
    uvicorn's own have, or the body of each answer (written after its head) waits for the platform's delayed ACK."""
    sock = listen("127.0.0.1", 0)
    nagle_off: list[bool] = []
    seen = asyncio.Event()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = writer.get_extra_info("socket")
        nagle_off.append(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
        seen.set()
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        await asyncio.wait_for(seen.wait(), 5)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert nagle_off == [True]


@pytest.mark.parametrize(("env", "expected"), [
    ({"WHATSAPP_TOKEN": "x", "WHATSAPP_PHONE_ID": "1"}, "WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN are missing"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "PUBLIC_URL": "http://bot.example.test"}, "PUBLIC_URL must be https://"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "PUBLIC_URL": "https://bot.example.test:8080"}, "port 443, 80, 88, 8443"),
    ({}, "serve needs TELEGRAM_BOT_TOKEN or WHATSAPP_TOKEN"),
])
def test_serve_refuses_to_start_without_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    env: dict[str, str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setattr("bot.logs.setup_logging", lambda level: None)  # keep pytest's log handlers
    for name in ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                 "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_URL", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1


def test_fixture_messages_use_synthetic_numbers_only() -> None:
    for name in ("text", "button_reply", "list_reply", "contacts"):
        assert message_of(fixture(name))["from"].startswith("628110000")
