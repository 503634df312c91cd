"""Fuzz: whatever a person (or a broken client) sends, the bot answers every private message, lets no exception
escape, and keeps its state usable: the same chat can still finish /hubungkan afterwards.

Telegram: arbitrary text (unicode, huge, empty, HTML-looking, SQL-looking), and random Update JSON of every kind
(messages, edits, stickers, contacts of anyone, documents with any name and size, forged callback data,
member updates, unknown kinds; sometimes malformed), fed to the real Application; answers are checked at the fake
Bot API, which refuses what Telegram would refuse (bad HTML, empty or too long text, callback data over 64 bytes).
WhatsApp: signed webhook bodies of every shape, posted to the real Starlette app.
"""

from __future__ import annotations

import copy
import itertools
import logging

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.ext import Application

from bot.app import App
from bot.demo import DEMO_PEPPER, DemoApplicant, applicants
from bot.settings import Settings, load_settings
from bot.web import Web
from bot.web.security import TELEGRAM_SECRET_HEADER
from bot.web.serve import build_web
from handlers.identity import hash_nik
from storage import ImportRow
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.reliability.conftest import SORRY, answered, integrity_ok, link_finishes
from tests.reliability.strategies import expects_reply, telegram_update, texts, whatsapp_payload
from tests.telegram.user import TelegramUser
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser

FUZZ = settings(settings.get_profile("reliability"), max_examples=30)
_user_ids = itertools.count(70_000_001)


def errors_since(caplog: pytest.LogCaptureFixture, mark: int) -> list[str]:
    """Error records of the bot (or of PTB's error path) logged after `mark`: an exception that escaped a handler."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records[mark:]
            if r.levelno >= logging.ERROR and r.name.startswith(("bot", "handlers", "storage", "telegram.ext"))]


@FUZZ
@given(data=st.data())
async def test_any_text_is_answered_and_linking_still_finishes(make_user, people: list[DemoApplicant],  # type: ignore[no-untyped-def]
                                                                caplog: pytest.LogCaptureFixture,
                                                                data: st.DataObject) -> None:
    user: TelegramUser = make_user(next(_user_ids))
    mark = len(caplog.records)
    for text in data.draw(st.lists(texts(), min_size=1, max_size=3), label="texts"):
        await user.send(text)
        answered(user)
    budi = people[1]
    await link_finishes(user, budi.phone, budi.nik)
    assert errors_since(caplog, mark) == []


@settings(FUZZ, max_examples=60)
@given(data=st.data())
async def test_random_updates_never_break_the_bot(application: Application, api: FakeBotApi, app: App,
                                                  people: list[DemoApplicant], caplog: pytest.LogCaptureFixture,
                                                  data: st.DataObject) -> None:
    user = TelegramUser(application, api, user_id=next(_user_ids))
    await user.send("/start")  # a message with buttons, for callback queries to point at
    bot_message = user.latest_bot_message()
    mark = len(caplog.records)
    for update in data.draw(st.lists(telegram_update(user.user_id, bot_message), min_size=1, max_size=3),
                            label="updates"):
        try:
            parsed = Update.de_json(copy.deepcopy(update), application.bot)
        except Exception:  # python-telegram-bot refuses the shape before the bot sees it
            continue
        calls = len(api.calls)
        await application.process_update(parsed)
        answers = [c for c in api.calls[calls:] if c.method in ("sendMessage", "editMessageText")]
        assert not any(SORRY in str(c.params.get("text")) for c in answers)
        chat = expects_reply(update)
        if chat is not None:
            assert any(c.status == 200 and str(c.chat_id) == str(chat) for c in answers), \
                (update, [(c.method, c.status, c.params.get("text")) for c in api.calls[calls:]])
    assert errors_since(caplog, mark) == []
    budi = people[1]
    await link_finishes(user, budi.phone, budi.nik)
    assert integrity_ok(app.settings.database_path)


async def test_a_language_code_babel_does_not_know_still_gets_an_answer(make_user) -> None:  # type: ignore[no-untyped-def]
    """Found by the webhook fuzz below: "xx" is a well-formed language code that Babel has no locale for."""
    member = make_user(70_000_000, language_code="xx", chat={"id": -100123, "type": "supergroup", "title": "Grup"})
    await member.send("/hasil")
    assert "chat pribadi" in answered(member)


async def whatsapp_people(app: App, count: int) -> list[DemoApplicant]:
    """`count` generated applicants (numbers +62 812 ...), one per fuzz example: each example's chat links its own."""
    people = list(applicants(count, seed=4242))
    await app.storage.accounts.import_rows(
        ImportRow(hash_nik(p.nik, DEMO_PEPPER), p.phone, p.name, p.wave, p.result, p.card_number, p.balance)
        for p in people)
    return people


WA_EXAMPLES = 25
_wa_people: dict[int, list[DemoApplicant]] = {}
_wa_index = itertools.count()


@settings(FUZZ, max_examples=WA_EXAMPLES)
@given(data=st.data())
async def test_random_whatsapp_webhooks_never_break_the_bot(app: App, web: Web, http: httpx.AsyncClient,
                                                            wa_api: FakeWhatsAppApi, caplog: pytest.LogCaptureFixture,
                                                            data: st.DataObject) -> None:
    if id(app) not in _wa_people:  # once per test run (the fixtures live across the examples)
        _wa_people.clear()
        _wa_people[id(app)] = await whatsapp_people(app, WA_EXAMPLES + 5)
    person = _wa_people[id(app)][next(_wa_index) % (WA_EXAMPLES + 5)]
    wa_id = person.phone.lstrip("+")
    user = WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id=wa_id)
    mark = len(caplog.records)
    for body in data.draw(st.lists(whatsapp_payload(wa_id, wa_api.phone_id), min_size=1, max_size=3), label="bodies"):
        response = await user.post(body if not isinstance(body, str) else body.encode())
        assert response.status_code in (200, 400), (response.status_code, response.text, body)
        await web.queue.join()
    assert not any(SORRY in sent.body for sent in wa_api.to(wa_id))
    assert errors_since(caplog, mark) == []
    await user.text("/hubungkan")
    if "sudah terhubung" not in user.text_out:
        assert "16 digit NIK" in user.text_out, user.text_out
        await user.text(person.nik)
    assert "Berhasil" in user.text_out or "sudah terhubung" in user.text_out, user.text_out


TELEGRAM_SECRET = "fuzz-webhook-secret"


@pytest.fixture
async def telegram_web(app: App, api: FakeBotApi, tg_settings: Settings):  # type: ignore[no-untyped-def]
    """`serve` with Telegram's webhook (the real Starlette app), and an HTTP client that sees its 5xx answers."""
    settings = load_settings(database_path=tg_settings.database_path, nik_pepper=DEMO_PEPPER,
                             telegram_bot_token=api.token, telegram_api_url=api.base_url,
                             telegram_webhook_secret=TELEGRAM_SECRET)
    web = build_web(app, settings)
    transport = httpx.ASGITransport(app=web.starlette, raise_app_exceptions=False)
    async with web.running(), httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield web, client


_update_ids = itertools.count(900_000_001)


@FUZZ
@given(data=st.data())
async def test_random_telegram_webhooks_are_acknowledged_or_refused_never_a_server_error(
        telegram_web, api: FakeBotApi, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
        data: st.DataObject) -> None:
    """Telegram redelivers an update for as long as the webhook answers 5xx: a malformed one must get 200 or 400."""
    web, client = telegram_web
    mark = len(caplog.records)
    user_id = next(_user_ids)
    headers = {TELEGRAM_SECRET_HEADER: TELEGRAM_SECRET}
    for update in data.draw(st.lists(telegram_update(user_id, None), min_size=1, max_size=3), label="updates"):
        update["update_id"] = next(_update_ids)
        response = await client.post("/telegram/webhook", json=update, headers=headers)
        assert response.status_code in (200, 400), (response.status_code, update)
    user = TelegramUser(web.telegram, api, user_id=user_id)
    message = {"update_id": next(_update_ids), "message": user.text_message("/bantuan")}
    assert (await client.post("/telegram/webhook", json=message, headers=headers)).status_code == 200
    await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user_id  # the help, in any language
                       and "/hubungkan" in str(c.params.get("text")), within=5)
    assert errors_since(caplog, mark) == []
