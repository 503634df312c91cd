"""Support look-ups and actions: /cari by any identifier, /buka, /lepas (applicant told through the outbox), all
audited with the reason given; /audit for admins; /akses shows the applicant when staff looked, by role only."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import App
from bot.demo import DemoApplicant
from bot.sender import Sender
from handlers.roles import Channel
from tests.admin.conftest import ADMIN_ID, SUPPORT_ID, queue_empty, run_until
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi


@pytest.fixture
async def siti_chat(app: App, people: list[DemoApplicant]) -> ChatDriver:
    """Siti, linked from Telegram chat 1001."""
    driver = ChatDriver(app.router, user_id="1001", channel=Channel.TELEGRAM)
    await driver.link(people[0].phone, people[0].nik)
    assert "Berhasil" in driver.text_out
    return driver


@pytest.mark.parametrize("form", ["081100000001", "6281100000001", "+62 811-0000-0001", "0811 0000 0001"])
async def test_find_by_any_phone_form(support: ChatDriver, siti_chat: ChatDriver, form: str) -> None:
    await support.command("cari", f"{form} pemohon menelepon")
    text = support.text_out
    assert "Siti Rahmawati" in text
    assert "5xxx xxxx xxxx 2345" in text and "5123456789012345" not in text  # card masked
    assert "Rp3.550.000" in text
    assert "Gelombang 1: lolos (diumumkan)" in text
    assert "Telegram 1001" in text and "terhubung" in text
    assert "+62811****0001" in text


async def test_find_by_card_chat_id_and_nik_which_is_never_shown(
    app: App, support: ChatDriver, siti_chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    await support.command("cari", "5123 4567 8901 2345 verifikasi kartu")
    assert "Siti Rahmawati" in support.text_out
    await support.command("cari", "telegram:1001 pemohon bertanya")
    assert "Siti Rahmawati" in support.text_out
    await support.command("cari", f"{siti.nik} pemohon lupa nomor HP, NIK {siti.nik}")
    assert "Siti Rahmawati" in support.text_out
    assert siti.nik not in support.text_out
    assert support.last.forget_incoming  # the staff member's message with the NIK is deleted
    entries = await app.storage.staff.search_audit("lookup", 10)
    assert [e.detail for e in entries][:3] == ["NIK: pemohon lupa nomor HP, NIK [16 digit disamarkan]",
                                             "ID chat: pemohon bertanya",
                                             "nomor kartu: verifikasi kartu"]
    assert all(siti.nik not in (e.detail or "") for e in await app.storage.staff.search_audit(None, 100))


async def test_bad_look_ups_are_explained_and_change_nothing(support: ChatDriver, app: App) -> None:
    await support.command("cari")
    assert "/cari NOMOR ALASAN" in support.text_out
    await support.command("cari", "081100000001")
    assert "Tuliskan alasannya" in support.text_out
    await support.command("cari", "089999999999 pemohon menelepon")
    assert "Tidak ditemukan" in support.text_out
    await support.command("cari", "siapa saja")
    assert "Tidak ditemukan" in support.text_out
    assert [e.action for e in await app.storage.staff.search_audit(None, 10)] == ["lookup_miss", "lookup_miss"]


async def test_unlock_a_locked_out_applicant(
    app: App, support: ChatDriver, people: list[DemoApplicant]
) -> None:
    siti, budi = people[0], people[1]
    applicant = ChatDriver(app.router, user_id="1002", channel=Channel.TELEGRAM)
    await applicant.command("hubungkan")
    await applicant.contact(siti.phone)
    for _ in range(5):
        await applicant.text(budi.nik)
    assert "dikunci" in applicant.text_out

    await support.command("cari", "081100000001 pemohon terkunci")
    assert "terkunci" in support.text_out
    await support.command("buka", "081100000001 pemohon terkunci, sudah diverifikasi")
    button = support.button("Ya, buka kunci")
    other = ChatDriver(app.router, user_id=ADMIN_ID, channel=Channel.TELEGRAM)
    await other.action(button.action, button.arg)  # another staff member cannot confirm this request
    assert "tidak berlaku" in other.text_out
    await support.press("Ya, buka kunci")
    assert "dibuka" in support.text_out

    await applicant.command("hubungkan")  # the phone's lock and the lock of the chat that failed with it
    assert "dikunci" not in applicant.text_out and applicant.replies[0].request_contact
    await support.command("buka", "chat:999999 salah ketik")
    assert "Tidak ditemukan" in support.text_out
    entries = await app.storage.staff.search_audit("unlock", 5)
    assert entries[0].actor == SUPPORT_ID and entries[0].detail == "pemohon terkunci, sudah diverifikasi"


async def test_unlink_with_a_reason_tells_the_applicant_through_the_outbox(
    app: App, api: FakeBotApi, support: ChatDriver, siti_chat: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    await support.command("lepas", "081100000001")
    assert "Tuliskan alasannya" in support.text_out
    await support.command("lepas", "081100000001 HP pemohon hilang, permintaan pemohon")
    assert "Pemohon diberi tahu" in support.text_out
    confirm = support.button("Ya, putuskan")
    await support.press("Ya, putuskan")
    assert "diputuskan dari 1 chat" in support.text_out
    await siti_chat.command("hasil")
    assert "belum terhubung" in siti_chat.text_out

    await run_until(make_sender(), queue_empty(app))
    (told,) = api.texts("1001")
    assert "diputuskan dari akun Prakerja Anda oleh petugas layanan" in told
    assert "HP pemohon hilang, permintaan pemohon" in told
    await support.action(confirm.action, confirm.arg)  # pressed again: nothing more happens
    assert "sudah tidak terhubung" in support.text_out
    await run_until(make_sender(), queue_empty(app))
    assert len(api.texts("1001")) == 1
    await support.command("cari", "081100000001 cek setelah pemutusan")
    assert "Pemberitahuan: terkirim" in support.text_out


async def test_applicant_sees_when_staff_looked_by_role_not_by_whom(
    support: ChatDriver, admin: ChatDriver, siti_chat: ChatDriver
) -> None:
    await siti_chat.command("akses")
    assert "Belum ada petugas" in siti_chat.text_out
    await support.command("cari", "081100000001 pemohon menelepon")
    await siti_chat.command("akses")
    assert "Data Anda dilihat oleh petugas layanan" in siti_chat.text_out
    assert SUPPORT_ID not in siti_chat.text_out and "menelepon" not in siti_chat.text_out

    await admin.command("audit", SUPPORT_ID)
    assert "lookup" in admin.text_out and "pemohon menelepon" in admin.text_out
    await admin.command("audit", "akun:999")
    assert "Tidak ada catatan audit" in admin.text_out
