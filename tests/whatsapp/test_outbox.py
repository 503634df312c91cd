"""The outbox sender over WhatsApp, in the web server's process: a wave's results reach each linked applicant,
free-form inside the 24-hour window and as the results template outside it; status callbacks come back."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime

from bot.app import App
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.transport import WhatsAppTransport
from bot.demo import DemoApplicant
from bot.web import Web
from bot.web.serve import SenderWorker
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser, fixture

SITI, BUDI = "6281100000001", "6281100000002"


async def test_results_go_free_form_in_the_window_and_as_template_outside(
    web: Web, app: App, wa_api: FakeWhatsAppApi, user: WhatsAppUser, people: list[DemoApplicant]
) -> None:
    budi = WhatsAppUser(user.http, web, wa_api, APP_SECRET, wa_id=BUDI)
    for person, applicant in ((user, people[0]), (budi, people[1])):
        await person.text("hubungkan")
        await person.text(applicant.nik)
        assert "Berhasil" in person.text_out
    wa_api.close_window(BUDI)  # Budi's window closed (WhatsApp answers 131047 to free-form messages)
    assert web.whatsapp is not None
    web.whatsapp.pacer = Pacer(rate=1000, pair_interval=0.2)  # the 6 s after the replies, shortened for the test
    worker = SenderWorker(app, app.settings, [WhatsAppTransport.for_channel(web.whatsapp, tier=250)])
    before = {chat: len(wa_api.to(chat)) for chat in (SITI, BUDI)}
    await worker.start()
    try:
        assert worker.alive
        broadcast, _ = await app.storage.outbox.publish_results(1, "9000001", "admin")
        for _ in range(200):
            if all(len(wa_api.to(chat)) > before[chat] for chat in (SITI, BUDI)):
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    [siti_result] = wa_api.to(SITI)[before[SITI]:]
    assert "Lolos" in siti_result.body and "•••• •••• •••• 2345" in siti_result.body
    [budi_result] = wa_api.to(BUDI)[before[BUDI]:]
    assert budi_result.type == "template" and budi_result.message["template"]["name"] == "prakerja_hasil_seleksi"

    # Status callbacks for the sent results update what /siaran_status reads.
    status = fixture("status")
    value = status["entry"][0]["changes"][0]["value"]["statuses"][0]
    for message, state in ((siti_result, "read"), (budi_result, "delivered")):
        value.update(id=message.id, status=state, recipient_id=message.to)
        await user.post(copy.deepcopy(status))
    await web.queue.join()
    assert await app.storage.whatsapp.delivery_statuses(broadcast.id) == {"read": 1, "delivered": 1}
    assert (await app.storage.metrics.counts(datetime.now(UTC))).deliveries.get("failed", 0) == 0
    # A failure reported after the send fails the delivery that carried the message.
    failed = fixture("status_failed")
    failed["entry"][0]["changes"][0]["value"]["statuses"][0].update(id=budi_result.id, recipient_id=BUDI)
    await user.post(failed)
    await web.queue.join()
    assert await app.storage.whatsapp.delivery_statuses(broadcast.id) == {"read": 1, "failed": 1}
    assert (await app.storage.metrics.counts(datetime.now(UTC))).deliveries.get("failed", 0) == 1

    # Siti taps "show card number" under her result: it works as under any reply.
    user.last = [siti_result]
    await user.press("Tampilkan")
    assert "5123 4567 8901 2345" in user.text_out
