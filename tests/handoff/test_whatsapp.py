"""The hand-off from WhatsApp: signed webhooks into the real web app, the support group on Telegram, staff answers
through the outbox's WhatsApp transport to the fake Cloud API (inside the 24-hour window: free-form)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.channels.telegram.topics import SupportDesk
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.transport import WhatsAppTransport
from bot.demo import DemoApplicant
from bot.web import Web
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.handoff.conftest import ADMIN, GROUP, Outbox, Staff, topic_of, topic_texts
from tests.whatsapp.conftest import APP_SECRET, METRICS_AUTH, make_web, wa_settings
from tests.whatsapp.user import WhatsAppUser

SITI = "6281100000001"


@pytest.fixture
async def wa_api() -> AsyncIterator[FakeWhatsAppApi]:
    async with FakeWhatsAppApi() as server:
        yield server


@pytest.fixture
async def web(app: App, wa_api: FakeWhatsAppApi, tmp_path: Path) -> AsyncIterator[Web]:
    web = make_web(app, wa_settings(tmp_path, wa_api))  # the app's router: the support group is configured
    assert web.whatsapp is not None
    web.whatsapp.pacer = Pacer(rate=1000, pair_interval=0.2)  # Meta's 6 s per user after a reply, shortened here
    async with web.running():
        yield web


@pytest.fixture
async def wa(web: Web, wa_api: FakeWhatsAppApi) -> AsyncIterator[WhatsAppUser]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette), base_url="http://bot.test") as http:
        yield WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id=SITI)


@pytest.fixture
def wa_outbox(app: App, api: FakeBotApi, web: Web) -> Outbox:
    assert web.whatsapp is not None
    transport = WhatsAppTransport.for_channel(web.whatsapp, None)
    transport.per_chat_interval = 0.2  # the sender's own spacing per user, shortened like the pacer's
    return Outbox(app, api, (transport,))


async def scrape(web: Web) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette), base_url="http://bot.test") as http:
        return (await http.get("/metrics", headers=METRICS_AUTH)).text


async def test_a_ticket_from_whatsapp_relayed_both_ways_closed_and_rated(
    app: App, api: FakeBotApi, wa_api: FakeWhatsAppApi, wa: WhatsAppUser, staff: Staff, desk: SupportDesk,
    wa_outbox: Outbox,
) -> None:
    await wa.text("menu")
    assert "Hubungi petugas" in wa.titles  # the tenth row of the menu list: it still fits WhatsApp's 10
    await wa.press("Hubungi petugas")
    await wa.text("Halo, saya belum menerima hasil seleksi gelombang 1.")
    assert "tiket #1" in wa.text_out and "paling lambat" in wa.text_out

    assert await desk.step() == 1
    thread = topic_of(api, 1)
    assert api.topics[str(GROUP)][thread].name == "#1 · +62811****0001 · WhatsApp"
    assert "belum menerima hasil" in topic_texts(api, thread)[-1]
    # WhatsApp media cannot be shown in Telegram: staff get a note, the applicant is asked to write it.
    await wa.send("image")
    assert "belum bisa diteruskan" in wa.text_out
    await wa.send("document")
    assert "Tuliskan isinya" in wa.text_out
    await desk.step()
    notes = topic_texts(api, thread)[-2:]
    assert all("WhatsApp" in note for note in notes) and "minta pemohon menuliskan isinya" in notes[-1]

    await staff.write("Hasil gelombang 1 sudah diumumkan; ketik HASIL di chat ini.", thread)
    await wa_outbox.deliver()
    answer = wa_api.to(SITI)[-1]
    assert answer.type == "text" and "Petugas Prakerja" in answer.body and "ketik HASIL" in answer.body
    await wa.text("hasil")  # a command still works while the ticket is open
    assert "belum terhubung" in wa.text_out  # the bot answered the command itself

    await staff.write("/selesai", thread)
    await wa_outbox.deliver()
    rating = wa_api.to(SITI)[-1]
    assert "Bagaimana pelayanan petugas" in rating.body and len(rating.choices) == 5
    wa.last = [rating]
    await wa.press("4")
    assert "Terima kasih atas penilaian" in wa.text_out
    ticket = await app.storage.tickets.get(1)
    assert ticket is not None and ticket.rating == 4 and not ticket.is_open
    await desk.step()
    assert "nilai 4/5" in topic_texts(api, thread)[-1]


async def test_staff_answer_outside_the_24_hour_window_goes_as_a_template(
    app: App, api: FakeBotApi, wa_api: FakeWhatsAppApi, wa: WhatsAppUser, staff: Staff, desk: SupportDesk,
    wa_outbox: Outbox,
) -> None:
    await wa.text("/petugas")
    await wa.text("Saya butuh bantuan untuk pembayaran pelatihan.")
    await desk.step()
    thread = topic_of(api, 1)
    await app.storage.database.execute("UPDATE whatsapp_chats SET last_inbound_at = '2020-01-01T00:00:00+00:00'")
    await staff.write("Silakan cek email Anda.", thread)
    assert "template" in staff.said(thread)  # staff are told how it will reach the applicant
    await wa_outbox.deliver()
    sent = wa_api.to(SITI)[-1]
    assert sent.type == "template" and "cek email" in sent.body


async def test_admins_see_ticket_figures_and_metrics(
    api: FakeBotApi, wa: WhatsAppUser, staff: Staff, desk: SupportDesk, web: Web,
) -> None:
    await wa.text("/petugas")
    await wa.text("Pertanyaan pertama.")
    await desk.step()
    metrics = await scrape(web)
    assert "prakerja_tickets_open 1" in metrics and "prakerja_tickets_waiting 1" in metrics
    assert "prakerja_ticket_oldest_wait_seconds" in metrics and "prakerja_ticket_messages_queued 0" in metrics
    await staff.write("Baik, kami cek.", topic_of(api, 1))
    admin = Staff(staff.application, api, user_id=ADMIN, first_name="Admin")  # in the admin's private chat
    await admin.send("/tiket")
    assert "1 terbuka, 0 menunggu jawaban" in admin.text and "#1 · +62811****0001 · WhatsApp" in admin.text
    assert f"{staff.user_id}: 1 terbuka, 0 ditutup, belum dinilai" in admin.text
    metrics = await scrape(web)
    assert 'prakerja_tickets_answered{state="open"} 1' in metrics and "prakerja_support_staff_active 1" in metrics
    assert str(staff.user_id) not in metrics  # no label names a person (issue 14.7)
    assert "prakerja_tickets_waiting 0" in metrics


async def test_staff_never_read_a_whatsapp_number_in_full(
    api: FakeBotApi, wa: WhatsAppUser, staff: Staff, desk: SupportDesk, people: list[DemoApplicant],
) -> None:
    """Issue 14.6: the ticket card, /cari, the /lepas confirmation and /audit showed 6281100000001 beside the masked
    form. Every one shows the number as every other staff view does: +62811****0001."""
    await wa.text("hubungkan")
    await wa.text(people[0].nik)
    assert "Berhasil" in wa.text_out
    await wa.text("/petugas")
    await wa.text("Saldo saya belum masuk.")
    await desk.step()
    thread = topic_of(api, 1)
    await staff.write("/cari", thread)
    await staff.write("/lepas pemohon meminta", thread)
    admin = Staff(staff.application, api, user_id=ADMIN, first_name="Admin")
    await admin.send("/audit")
    seen = {"ticket card": topic_texts(api, thread)[0], "/cari": staff.said(thread), "/audit": admin.text}
    await staff.write("/lepas akun:1 pemohon meminta")  # in the group's general topic, as anywhere
    seen["/lepas"] = staff.said()
    for view, text in seen.items():
        assert SITI not in text, f"{view}: {text}"
    assert all("+62811****0001" in text for text in seen.values()), seen
