"""The staff flows found confusing while writing the guides, each fixed (issue 12): the example time shown to an
admin can be copied (it was 25-09-2021, refused as past), scheduled times are audited in WIB as typed, the CLI's dry
runs say in Indonesian how to go on, staff see a WhatsApp number masked like any phone, and the demo lets an admin
upload a CSV and announce a wave that reaches a linked applicant (`/umumkan 4` was a dead end: no result)."""

from __future__ import annotations

import re
from pathlib import Path

from telegram.ext import Application

from bot.app import App
from bot.demo import DemoApplicant, demo_people
from handlers.roles import Channel
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi
from tests.docs.transcripts import run_command, run_demo
from tests.handoff.conftest import ADMIN, SUPPORT
from tests.telegram.user import TelegramUser

EXAMPLE = re.compile(r"<code>(?:5 )?(\d{2}-\d{2}-\d{4} 17:00)</code>")


def example_in(text: str) -> str:
    match = EXAMPLE.search(text)
    assert match, text
    return match.group(1)


async def test_the_example_time_can_be_copied_as_it_is(application: Application, api: FakeBotApi) -> None:
    admin = TelegramUser(application, api, user_id=ADMIN, first_name="Admin")
    await admin.send("/gelombang")
    await admin.press("Jadwal 4")
    await admin.send(example_in(admin.text))
    assert "Pengumuman gelombang 4 dijadwalkan" in admin.text
    await admin.press("Gelombang baru")
    await admin.send("5 " + example_in(admin.text))
    assert "Pengumuman gelombang 5 dijadwalkan" in admin.text
    await admin.send("/siaran Webinar Kartu Prakerja")
    await admin.press("Jadwalkan")
    await admin.send(example_in(admin.text))
    assert "Jadwalkan siaran" in admin.text and "sudah lewat" not in admin.text
    await admin.press("Ya, jadwalkan")
    # the audit log keeps the time in WIB, as the admin typed it (not 10:00 UTC)
    await admin.send("/audit wave:4")
    assert re.search(r"wave_time · wave:4 · <i>\d{4}-\d{2}-\d{2}T17:00\+07:00", admin.text), admin.text
    await admin.send("/audit broadcast")
    assert re.search(r"broadcast_scheduled · broadcast:\d+ · <i>\d{4}-\d{2}-\d{2}T17:00\+07:00", admin.text)


def test_the_command_line_says_how_to_go_on(tmp_path: Path) -> None:
    (tmp_path / "registry.csv").write_text(
        "nik,phone,name,wave,result,card_number,balance\n"
        "5126165104674790,0812-7700-0001,Dewi Lestari,5,lolos,5200000000000001,3500000\n", encoding="utf-8")
    hint = run_command("python -m bot import registry.csv", tmp_path)[-1]
    example = re.findall(r'"(.+)"', hint)[0]
    when = run_command(f'python -m bot admin schedule 5 "{example}"', tmp_path)
    assert when[0].startswith("Pengumuman gelombang 5 dijadwalkan"), when  # the import's example is not past
    assert run_command("python -m bot admin publish 5", tmp_path)[-1] == (
        "Belum diumumkan: tambahkan --yes untuk mengumumkan.")
    assert run_command("python -m bot admin broadcast Halo", tmp_path)[-1] == (
        "Belum dikirim: tambahkan --yes untuk memasukkannya ke antrean pengiriman.")


def test_in_the_demo_an_admin_imports_a_file_and_announces_a_wave(tmp_path: Path) -> None:
    (tmp_path / "pendaftar.csv").write_text(
        "nik,phone,name,wave,result,card_number,balance\n"
        "5126165104674790,0812-7700-0001,Dewi Lestari,5,lolos,5200000000000001,Rp3.500.000\n", encoding="utf-8")
    agus = demo_people()[2]
    out = "\n".join(run_demo(["/kontak " + agus.phone, agus.nik, "/admin", "/impor", "/berkas pendaftar.csv",
                              "/berkas tidak-ada.csv", "/umumkan 4", "Ya, umumkan"], tmp_path))
    assert "baris 2, kolom balance" in out  # the uploaded file went through the importer
    assert "(berkas tidak ditemukan: tidak-ada.csv" in out
    assert "Akan mengirim 1 pesan: 1 lolos, 0 tidak lolos." in out
    announced = out.split("Ya, umumkan", 1)[1]
    assert "[pesan dari bot]" in announced and "Gelombang 4: Lolos" in announced  # Agus got his result


async def test_staff_see_a_whatsapp_number_masked_like_any_phone(app: App, people: list[DemoApplicant]) -> None:
    """A WhatsApp chat's id is the applicant's phone number: /cari, the ticket card and /lepas show it masked, as
    they show the account's number (it was shown in full, in the support group too)."""
    siti = people[0]
    chat = (await app.storage.chats.snapshot(Channel.WHATSAPP.value, siti.phone.lstrip("+"), None)).chat
    account = (await app.storage.accounts.by_phone(siti.phone))[0]
    await app.storage.chats.link(chat.id, account.id, "test")
    support = ChatDriver(app.router, user_id=str(SUPPORT), channel=Channel.TELEGRAM)
    await support.command("cari", "081100000001 pemohon menelepon")
    found = support.text_out
    assert f"WhatsApp +62811****0001 (chat:{chat.id}): terhubung" in found
    await support.command("lepas", "081100000001 pemohon ganti HP")
    assert "dari WhatsApp +62811****0001?" in support.text_out
    assert siti.phone.lstrip("+") not in found + support.text_out
