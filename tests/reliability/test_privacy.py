"""Privacy (UU PDP): after a representative set of journeys that carry NIKs (linking, failed linking, a registry
import by CLI and by an admin's upload, a support look-up by NIK, on Telegram and WhatsApp), no NIK appears in any
file the bot wrote (the database, its WAL and shared-memory files, the logs) nor in any captured log record.

The journeys run here rather than relying on the rest of the suite having run first. Logs are written the way
production writes them (bot/logs.py's masking filter on the handler) at DEBUG, so even python-telegram-bot's
debug output of raw updates is covered; captured records are checked raw (before any masking) at the production
level, INFO, and at DEBUG for the bot's own packages: the bot itself must never put a NIK into a log record.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.telegram import build_application
from bot.channels.telegram.transport import TelegramFiles
from bot.demo import DEMO_PEPPER, DemoApplicant, applicants
from bot.logs import MaskingFilter
from bot.settings import Settings
from handlers.roles import Channel
from tests.auxil.fake_bot_api import FakeBotApi
from tests.reliability.conftest import answered, link_finishes
from tests.telegram.user import TelegramUser
from tests.whatsapp.user import WhatsAppUser

ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGES = ("bot", "handlers", "storage", "locales")


def import_file(folder: Path, people: list[DemoApplicant]) -> Path:
    path = folder / "registry.csv"
    lines = ["nik,phone,name,wave,result,card_number,balance"]
    lines += [f"{p.nik},{p.phone},{p.name},{p.wave},{p.result.value if p.result else ''},{p.card_number or ''},"
              f"{'' if p.balance is None else p.balance}" for p in people]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files_holding(folder: Path, secrets: set[str]) -> dict[str, list[str]]:
    """Every (non-empty) file under `folder` by name, with the `secrets` found in it (as bytes, anywhere)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size:
            data = path.read_bytes()
            found[path.name] = [s for s in secrets if s.encode() in data]
    return found


def cli_import(csv: Path, database: Path, log: Path) -> int:
    """`python -m bot import` in its own process, logging at DEBUG into `log`; its exit code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(database), "NIK_PEPPER": DEMO_PEPPER,
           "LOG_LEVEL": "DEBUG"}
    with log.open("wb") as handle:
        return subprocess.run([sys.executable, "-m", "bot", "import", str(csv)], env=env, cwd=database.parent,
                              stdout=handle, stderr=handle, timeout=60, check=False).returncode


@pytest.fixture
def production_log(tmp_path: Path) -> Path:
    """A DEBUG log file in the data directory, through the production masking filter (as bot/logs.py sets up)."""
    path = tmp_path / "logs" / "bot.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


async def test_no_nik_in_any_file_or_log_record(
        app: App, tg_settings: Settings, api: FakeBotApi, wa_user: WhatsAppUser, people: list[DemoApplicant],
        production_log: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    caplog.handler.setLevel(logging.DEBUG)
    caplog.handler.addFilter(lambda r: r.levelno >= logging.INFO or r.name.startswith(OWN_PACKAGES))
    siti, budi, agus = people
    imported = list(applicants(20, seed=99))
    outside = tmp_path_factory.mktemp("input")  # the registry file is input: it holds NIKs by nature
    secrets = {siti.nik, budi.nik, agus.nik, *(p.nik for p in imported)}

    async with build_application(app, tg_settings) as application:
        app.router.services.files[Channel.TELEGRAM] = TelegramFiles(application.bot)
        # Linking, and failing to: a wrong NIK, a typo, a NIK typed where none was asked for.
        applicant = TelegramUser(application, api, user_id=3101)
        await applicant.send(agus.nik)
        answered(applicant)
        await applicant.send("/hubungkan")
        await applicant.share_contact(budi.phone)
        await applicant.send(siti.nik)
        assert "NIK tidak cocok" in answered(applicant)
        await applicant.send(budi.nik[:-1] + "x")
        answered(applicant)
        await link_finishes(applicant, budi.phone, budi.nik)
        # An admin imports part of the registry by uploading it.
        admin = TelegramUser(application, api, user_id=9000001)
        upload = import_file(outside, imported[:10])
        api.add_file("registry", upload.read_bytes(), "registry.csv")
        await admin.send("/impor")
        await admin.feed({"message": admin.message(document={"file_id": "registry", "file_unique_id": "r",
                                                             "file_name": "registry.csv", "mime_type": "text/csv",
                                                             "file_size": upload.stat().st_size})})
        assert "Impor selesai" in answered(admin)
        # Support looks someone up by NIK.
        staff = TelegramUser(application, api, user_id=9000002)
        await staff.send(f"/cari {imported[0].nik} pemohon menelepon")
        assert imported[0].name.split()[0] in answered(staff)
        await staff.send(f"/cari {siti.nik[:-2]}00 pemohon menelepon")  # a NIK nobody has
        answered(staff)
    # WhatsApp: Siti links from her own number.
    await wa_user.text("hubungkan")
    await wa_user.text(siti.nik)
    assert "Berhasil" in wa_user.text_out
    # The command-line import of the rest, in its own process, logging at DEBUG into the data directory.
    cli = import_file(outside, imported[10:])
    assert cli_import(cli, app.settings.database_path, tmp_path / "logs" / "import.log") == 0

    assert len(caplog.records) > 0
    scanned = files_holding(tmp_path, secrets)
    assert {"bot.sqlite3", "bot.sqlite3-wal", "bot.log", "import.log"} <= set(scanned)
    assert {name: hits for name, hits in scanned.items() if hits} == {}
    leaked = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if any(s in r.getMessage() or s in (r.exc_text or "") for s in secrets)]
    assert leaked == []
