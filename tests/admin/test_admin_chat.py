"""The admin's chat: CSV upload (/impor), waves (/gelombang), bad input to /umumkan and /siaran, scheduling,
and the admin CLI for scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.constants import FileSizeLimit, MessageLimit

from bot.app import App
from bot.channels.telegram.transport import TelegramTransport
from bot.demo import DEMO_PEPPER
from handlers import admin as admin_module
from handlers.api import Document, EventKind
from handlers.roles import Channel
from storage.models import BroadcastState
from tests.admin.conftest import ADMIN_ID, NEW_WAVE, populate
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi

GOOD_CSV = (
    b"nik,phone,name,wave,result,card_number,balance\n"
    b"3171234507900001,0812-3456-7890,Rina Kusuma,8,lolos,5999888877776666,3550000\n"
    b"3271010101900002,+62 813 1111 2222,Eko Saputra,8,tidak_lolos,,\n"
)
BAD_CSV = (
    b"nik,phone,name,wave,result,card_number,balance\n"
    b"3171234507900001,0812-3456-7890,Rina Kusuma,8,lulus,,\n"
    b"12345,0812-3456-7891,Eko Saputra,8,tidak_lolos,,\n"
)


def test_platform_limits_mirrored_in_handlers_agree_with_telegram() -> None:
    assert admin_module.MAX_TEXT_LENGTH == MessageLimit.MAX_TEXT_LENGTH
    assert admin_module.MAX_CAPTION_LENGTH == MessageLimit.CAPTION_LENGTH
    assert admin_module.MAX_PHOTO_BYTES == FileSizeLimit.PHOTOSIZE_UPLOAD
    assert admin_module.MAX_IMPORT_BYTES == FileSizeLimit.FILESIZE_DOWNLOAD


@pytest.fixture
async def files(app: App, api: FakeBotApi) -> AsyncIterator[FakeBotApi]:
    """Downloads of uploaded files through the sender's Telegram transport (the fake server serves them)."""
    from bot.channels.telegram.transport import TelegramFiles

    transport = TelegramTransport(api.token, api.base_url, rate=30, concurrency=2)
    await transport.start()
    app.router.services.files[Channel.TELEGRAM] = TelegramFiles(transport.bot)
    yield api
    await transport.close()


async def upload(driver: ChatDriver, file_id: str, name: str, size: int, mime: str | None = "text/csv") -> None:
    await driver.send(driver._event(kind=EventKind.DOCUMENT, document=Document(file_id, name, size, mime)))


async def test_import_by_upload_all_or_nothing(app: App, admin: ChatDriver, files: FakeBotApi) -> None:
    files.add_file("bad", BAD_CSV, "data.csv")
    files.add_file("good", GOOD_CSV, "data.csv")
    await admin.command("impor")
    await upload(admin, "bad", "data.csv", len(BAD_CSV))
    text = admin.text_out
    assert "Tidak ada data yang diimpor" in text
    assert "baris 2, kolom result" in text and "baris 3, kolom nik" in text
    assert await app.storage.waves.get(8) is None  # nothing half-imported

    await upload(admin, "good", "data.csv", len(GOOD_CSV))  # still in the import step: try again
    assert "Impor selesai" in admin.text_out and "2 baru" in admin.text_out
    await admin.command("impor")
    await upload(admin, "good", "data.csv", len(GOOD_CSV))
    assert "2 tidak berubah" in admin.text_out


async def test_wrong_files_are_refused_with_a_reason(admin: ChatDriver, files: FakeBotApi, app: App) -> None:
    await upload(admin, "x", "data.csv", 10)  # not asked for: tells how
    assert "kirim /impor dulu" in admin.text_out
    await admin.command("impor")
    await upload(admin, "x", "foto.jpg", 10, "image/jpeg")
    assert "bukan berkas CSV" in admin.text_out
    await upload(admin, "x", "besar.csv", 25_000_000)
    assert "terlalu besar" in admin.text_out
    await upload(admin, "gone", "data.csv", 100)  # the platform no longer has it
    assert "tidak bisa diunduh" in admin.text_out
    await admin.text("ini bukan berkas")
    assert "Saya menunggu berkas CSV" in admin.text_out
    # An applicant's document is never imported.
    applicant = ChatDriver(app.router, user_id="1001", channel=Channel.TELEGRAM)
    await upload(applicant, "x", "data.csv", 10)
    assert "tidak memproses berkas" in applicant.text_out


async def test_waves_list_and_new_wave_time(admin: ChatDriver, app: App) -> None:
    await populate(app, 10)
    await admin.command("gelombang")
    assert f"<b>Gelombang {NEW_WAVE}</b>: 10 akun" in admin.text_out and "10 chat terhubung" in admin.text_out
    await admin.press("Gelombang baru")
    await admin.text("9 besok")
    assert "tidak saya kenali" in admin.text_out
    await admin.text("9 01-01-2020 17:00")
    assert "sudah lewat" in admin.text_out
    await admin.text("1 01-01-2099 17:00")
    assert "sudah ada" in admin.text_out
    await admin.text("9 25-09-2099 17:00")
    assert "Pengumuman gelombang 9 dijadwalkan 25 September 2099, 17.00 WIB" in admin.text_out
    await admin.press(f"Jadwal {NEW_WAVE}")
    await admin.text("2099-10-01 09.30 WIB")
    wave = await app.storage.waves.get(NEW_WAVE)
    assert wave is not None and wave.announce_at is not None and wave.announce_at.hour == 2  # 09.30 WIB = 02.30 UTC
    await admin.command("gelombang")
    assert "Jadwal 1" not in admin.labels  # published waves cannot be rescheduled


async def test_publish_bad_input(admin: ChatDriver, app: App) -> None:
    await admin.command("umumkan")
    assert "Tulis nomor gelombangnya" in admin.text_out
    await admin.command("umumkan", "tiga")
    assert "tidak ada" in admin.text_out
    await admin.command("umumkan", "99")
    assert "Gelombang <b>99</b> tidak ada" in admin.text_out
    await app.storage.waves.set_announce_at(12, app.router.services.clock())
    await admin.command("umumkan", "12")
    assert "belum punya hasil" in admin.text_out
    await admin.action(admin_module.PUBLISH_OK, "99")
    assert "tidak ada" in admin.text_out


async def test_broadcast_bad_input_and_schedule(admin: ChatDriver, app: App) -> None:
    await admin.command("siaran")
    await admin.text("   ")
    assert "tidak boleh kosong" in admin.text_out
    await admin.text("x" * 5000)
    assert "paling banyak" in admin.text_out
    await admin.text("Pelatihan baru tersedia <b>minggu ini</b>!")
    assert "Draf siaran" in admin.text_out and "&lt;b&gt;" in admin.text_out  # admin text is shown, not markup
    draft_id = int(admin.text_out.split("#", 1)[1].split("<", 1)[0])
    await admin.press("Tambah link video")
    assert "Link video: ada" in admin.text_out
    await admin.press("Jadwalkan")
    await admin.text("kemarin")
    assert "tidak saya kenali" in admin.text_out
    await admin.text("01-01-2020 10:00")
    assert "sudah lewat" in admin.text_out
    await admin.text("01-01-2099 10:00")
    assert "1 Januari 2099, 10.00 WIB" in admin.text_out
    await admin.press("Ya, jadwalkan")
    assert "dijadwalkan" in admin.text_out
    stored = await app.storage.outbox.get(draft_id)
    assert stored is not None and stored.state is BroadcastState.SCHEDULED and stored.video_url
    await admin.command("siaran_status")
    assert "dijadwalkan 1 Januari 2099" in admin.text_out
    await admin.action(admin_module.DRAFT_GO, str(draft_id))  # a stale "send now" of the same draft
    assert "sudah dikirim, dijadwalkan atau dibatalkan" in admin.text_out


async def test_broadcast_photo(admin: ChatDriver, app: App) -> None:
    await admin.command("siaran", "Lihat poster ini")
    await admin.press("Tambah foto")
    await admin.send(admin._event(kind=EventKind.DOCUMENT, photo=Document("big", "", 12_000_000, "image/jpeg")))
    assert "Foto terlalu besar" in admin.text_out
    await admin.send(admin._event(kind=EventKind.DOCUMENT, document=Document("f", "poster.png", 100, "image/png")))
    assert "bukan foto" in admin.text_out
    await admin.send(admin._event(kind=EventKind.DOCUMENT, photo=Document("photo-9", "", 50_000, "image/jpeg")))
    assert "Foto: ada" in admin.text_out
    await admin.press("Pratinjau")
    assert admin.replies[0].photo == "photo-9" and admin.replies[0].text.startswith("Lihat poster ini")


def test_admin_cli_for_scripts(app: App, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_PATH": str(app.settings.database_path), "NIK_PEPPER": DEMO_PEPPER,
           "ADMIN_IDS": ADMIN_ID, "LOG_LEVEL": "WARNING"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "admin", *args], env=env, capture_output=True,
                              text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])

    waves = cli("waves")
    header, first = waves.stdout.splitlines()[:2]
    assert waves.returncode == 0 and header.startswith("gelombang") and first.split()[0] == "1"  # labelled columns
    dry = cli("broadcast", "Halo semua", "--result", "lolos")
    assert dry.returncode == 1 and dry.stdout.startswith("0\t")  # nobody linked yet: shown, not queued
    queued = cli("broadcast", "Halo semua", "--unlinked", "--at", "01-01-2099 08:00", "--yes")
    assert queued.returncode == 0, queued.stderr
    status = cli("status")
    assert "dijadwalkan 1 Januari 2099, 08.00 WIB" in status.stdout
