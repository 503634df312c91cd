"""What the bot does with WhatsApp messages that are not text or a button (issue 14.12, 14.13): the sender is named by
the message's own `from` and nothing else; a deleted message, a flow completion and a call-permission reply get no
answer; a tap WhatsApp could not pass on gets the menu; someone else's contact card is explained, never taken for a
link attempt. Each from a recorded-shape fixture in tests/whatsapp/fixtures/."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.app import App, open_app
from bot.channels.whatsapp.inbound import parse
from bot.demo import DEMO_PEPPER
from bot.web import Web
from bot.web.security import SIGNATURE_HEADER, sign
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET, make_web, wa_settings
from tests.whatsapp.user import WhatsAppUser, fixture, message_of

SITI = "6281100000001"
UNREGISTERED = "6281299990000"
ADMIN_NUMBER = "6289900000001"  # a WhatsApp admin (ADMIN_IDS=whatsapp:+62899...)
FORGED_SENDER = "ID.55555"


@pytest.mark.parametrize("name", ["revoke", "flow_reply", "call_permission_reply"])
async def test_deleted_messages_flow_completions_and_call_permissions_get_no_answer(
    user: WhatsAppUser, name: str
) -> None:
    assert await user.send(name) == []


async def test_a_tap_whatsapp_could_not_pass_on_gets_the_menu_again(user: WhatsAppUser) -> None:
    await user.send("interactive_errors")
    assert "Pilih yang Anda perlukan" in user.text_out and user.titles  # the choices, to tap again
    assert "Saya hanya bisa membaca" not in user.text_out


async def test_someone_elses_contact_card_is_explained_not_taken_for_a_link_attempt(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi, app: App
) -> None:
    sender = WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id=UNREGISTERED)
    await sender.send("contact_card_other")  # shares a friend's card
    assert "Kartu kontak tidak kami baca" in sender.text_out and "Hubungkan akun" in sender.titles
    assert "tidak terdaftar" not in sender.text_out  # was: "Nomor +62812****0000 tidak terdaftar"
    lock = await app.storage.link_attempts.state([f"phone:+{UNREGISTERED}"], datetime.now(UTC))
    assert lock.failures == 0  # and it cost no verification attempt


async def test_a_registered_senders_own_card_still_links_and_a_friends_card_does_not(user: WhatsAppUser) -> None:
    await user.send("contact_card_other")
    assert "Kartu kontak tidak kami baca" in user.text_out
    await user.press("Hubungkan akun")  # the way it does work: her own WhatsApp number
    assert "terdaftar" in user.text_out and "NIK" in user.text_out


@pytest.fixture
async def admin_web(wa_api: FakeWhatsAppApi, tmp_path: Path) -> AsyncIterator[Web]:
    settings = wa_settings(tmp_path, wa_api, admin_ids=f"9000001,whatsapp:+{ADMIN_NUMBER}")
    application = await open_app(settings, pepper=DEMO_PEPPER)
    try:
        web = make_web(application, settings)
        async with web.running():
            yield web
    finally:
        await application.close()


def test_the_sender_is_the_message_from_never_a_contact_entry() -> None:
    [message] = parse(fixture("bsuid_foreign_contact")).messages
    assert message.event.chat_id == FORGED_SENDER and message.event.sender_phone is None
    [own] = parse(fixture("text")).messages
    assert own.event.sender_phone == f"+{SITI}" and own.bsuid == "ID.1100000000000001"


async def test_a_contact_entry_holding_an_admins_number_does_not_make_the_sender_an_admin(
    admin_web: Web, wa_api: FakeWhatsAppApi
) -> None:
    payload = copy.deepcopy(fixture("bsuid_foreign_contact"))  # from "ID.55555", one contact: the admin's number
    assert message_of(payload)["text"]["body"] == "/audit"
    body = json.dumps(payload).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=admin_web.starlette),
                                 base_url="http://bot.test") as http:
        admin = WhatsAppUser(http, admin_web, wa_api, APP_SECRET, wa_id=ADMIN_NUMBER)
        await admin.text("/audit")  # the admin herself gets the audit log (empty here)
        assert "audit" in admin.text_out.lower()
        response = await http.post("/whatsapp/webhook", content=body,
                                   headers={SIGNATURE_HEADER: sign(body, APP_SECRET)})
        assert response.status_code == 200
        await admin_web.queue.join()
    answer = "\n".join(s.body for s in wa_api.to(FORGED_SENDER))
    assert answer and "audit" not in answer.lower()  # an applicant's answer to an unknown command
    assert len(wa_api.to(ADMIN_NUMBER)) == len(admin.last)  # nothing more went to the admin's chat
