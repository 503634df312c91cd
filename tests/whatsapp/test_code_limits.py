"""Verification codes to typed numbers are limited (issue 14.5): per chat, per number, per hour for all chats,
and to a share of the 24 h messaging tier, which result announcements need. The applicant is told when to retry."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.demo import DemoApplicant, applicants, showcase
from bot.web import Web
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi, Sent
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser

SITI_NUMBER = "6281100000001"
CODE_TEMPLATE = "prakerja_kode_verifikasi"


@pytest.fixture
def people() -> list[DemoApplicant]:
    """The showcase and 30 more registered applicants (+6281200000000, +6281200000001, ...)."""
    return [*showcase(), *applicants(30)]


def codes(wa_api: FakeWhatsAppApi, number: str | None = None) -> list[Sent]:
    return [s for s in wa_api.sent if s.type == "template" and s.message["template"]["name"] == CODE_TEMPLATE
            and (number is None or s.to == number)]


def username_user(http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi, n: int = 1) -> WhatsAppUser:
    return WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id=f"ID.22000000000{n:05d}")


async def ask_code(user: WhatsAppUser, number: str) -> str:
    """hubungkan -> the number -> Batal: what the probe repeated. Returns the answer to the number."""
    await user.text("hubungkan")
    await user.text(number)
    answer = user.text_out
    if "Batal" in user.titles:
        await user.press("Batal")
    return answer


async def test_one_number_gets_three_codes_an_hour_then_the_applicant_is_told_when(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    user = username_user(http, web, wa_api)
    answers = [await ask_code(user, "0811-0000-0001") for _ in range(6)]
    assert len(codes(wa_api, SITI_NUMBER)) == 3  # not one per request (15 in 15 s before)
    assert all("kode verifikasi 6 digit" in a for a in answers[:3])
    refused = answers[3]
    assert "terlalu sering diminta" in refused and "setelah" in refused and "WIB" in refused
    assert answers[4] == answers[5] == refused  # the same time: no request in the hour moves it


async def test_another_chat_cannot_make_a_number_receive_more(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    for n in range(5):  # five attackers, one request each, all to Siti's number
        await ask_code(username_user(http, web, wa_api, n), "0811 0000 0001")
    assert len(codes(wa_api, SITI_NUMBER)) == 3


async def test_one_chat_cannot_send_codes_to_many_numbers(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    user = username_user(http, web, wa_api)
    answers = [await ask_code(user, f"0812 {n:08d}") for n in range(20)]  # 20 registered numbers
    assert len(codes(wa_api)) == 3
    assert "terlalu sering diminta" in answers[3]


async def test_unregistered_numbers_count_too_so_the_limit_reveals_nothing(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    user = username_user(http, web, wa_api)
    for n in range(3):
        await ask_code(user, f"0813 9999 000{n}")  # not registered: no code, but asked for
    assert codes(wa_api) == []
    refused = await ask_code(user, "0811 0000 0001")
    assert "terlalu sering diminta" in refused and codes(wa_api) == []


async def test_all_chats_together_get_twenty_codes_an_hour_by_default(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    answers = [await ask_code(username_user(http, web, wa_api, n), f"0812 {n:08d}") for n in range(24)]
    assert len(codes(wa_api)) == 20  # WHATSAPP_CODES_PER_HOUR empty: a twelfth of the 250 tier
    assert all("terlalu sering diminta" in a for a in answers[20:])


async def test_codes_leave_half_of_the_messaging_tier_to_announcements(
    http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi
) -> None:
    storage = web.app.storage
    now = datetime.now(UTC)
    for n in range(125):  # half of the 250 tier already used by business-initiated messages today
        await storage.whatsapp.initiated(f"62857{n:08d}", now)
    user = username_user(http, web, wa_api)
    answer = await ask_code(user, "0811 0000 0001")
    assert codes(wa_api) == []
    assert "tidak dapat dikirim" in answer and "coba lagi setelah" in answer and "WIB" in answer


async def test_a_code_counts_against_the_tier(http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi) -> None:
    storage = web.app.storage
    before = await storage.whatsapp.tier_state("nobody", datetime.now(UTC), 250)
    await ask_code(username_user(http, web, wa_api), "0811 0000 0001")
    assert len(codes(wa_api, SITI_NUMBER)) == 1
    after = await storage.whatsapp.tier_state("nobody", datetime.now(UTC), 250)
    assert after.counted == before.counted + 1  # the code's number, outside its window, is a business-initiated user
