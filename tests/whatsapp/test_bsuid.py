"""WhatsApp users with a username may come without their number: they type it and prove it with a code."""

from __future__ import annotations

import httpx

from bot.demo import DemoApplicant
from bot.web import Web
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser

BSUID = "ID.2200000000000001"
SITI_NUMBER = "6281100000001"


def username_user(http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi) -> WhatsAppUser:
    return WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id=BSUID)


def sent_code(wa_api: FakeWhatsAppApi) -> str:
    [template] = [s for s in wa_api.to(SITI_NUMBER) if s.type == "template"]
    assert template.message["template"]["name"] == "prakerja_kode_verifikasi"
    return template.body


async def test_typed_number_proven_by_code_then_nik(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi, people: list[DemoApplicant]
) -> None:
    user = username_user(http, web, wa_api)
    await user.text("hubungkan")
    assert "Ketik nomor HP" in user.text_out
    await user.text("0811-0000-0001")
    assert "kode verifikasi 6 digit" in user.text_out
    code = sent_code(wa_api)  # sent to the registered number's WhatsApp: the same person's chat
    wrong = "000000" if code != "000000" else "111111"
    await user.text(wrong)
    assert "tidak cocok" in user.text_out and "Sisa 4 percobaan" in user.text_out
    await user.text("12")
    assert "Ketik 6 digit" in user.text_out and "Sisa" not in user.text_out  # a typo costs nothing
    await user.text(code)
    assert "terdaftar" in user.text_out and "NIK" in user.text_out
    await user.text(people[0].nik)
    assert "Berhasil" in user.text_out
    assert wa_api.to(BSUID)[0].to == BSUID  # replies go by business-scoped id ("recipient")


async def test_unregistered_number_gets_the_same_answer_and_no_code(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    user = username_user(http, web, wa_api)
    await user.text("hubungkan")
    await user.text("0812 9999 0000")
    assert "kode verifikasi 6 digit" in user.text_out  # no hint whether the number is registered
    assert wa_api.to("6281299990000") == []
    await user.text("123456")
    assert "tidak cocok" in user.text_out


async def test_not_a_phone_number_is_explained(http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi) -> None:
    user = username_user(http, web, wa_api)
    await user.text("hubungkan")
    await user.text("nomor saya")
    assert "bukan nomor HP yang valid" in user.text_out
