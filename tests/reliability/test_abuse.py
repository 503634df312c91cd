"""Abuse, through the real Telegram channel: forged staff buttons and commands, someone else's contact card,
SQL-looking text in every field, NIK brute force (the lock-out holds across a restart and across channels),
document names that try to climb out of a folder, and a 50 MB upload. Each time: the ordinary answer, nothing
changed in the database, failures audited where it matters.

(The router-level role checks of every staff route are in tests/admin/test_roles.py; this goes through the
Telegram Application with the payloads an attacker would actually send.)
"""

from __future__ import annotations

import itertools
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.constants import FileSizeLimit, InlineKeyboardButtonLimit
from telegram.ext import Application

from bot.app import App, open_app
from bot.channels.telegram import build_application
from bot.channels.telegram.transport import TelegramFiles
from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.settings import Settings
from bot.web import Web
from handlers import admin, support
from handlers.roles import Channel, Role
from storage.models import BroadcastKind
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.reliability.conftest import answered, integrity_ok
from tests.reliability.strategies import SQL
from tests.telegram.user import TelegramUser
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser

ADMIN_ID = 9000001
SUPPORT_ID = 9000002
STAFF_ACTIONS = sorted({name for routes in (admin.routes, support.routes) for name in routes.actions})
STAFF_COMMANDS = sorted({name for routes in (admin.routes, support.routes)
                         for name, route in routes.commands.items() if Role.APPLICANT not in route.roles})
TRAVERSAL = ("../../../../tmp/prakerja-evil.csv", "..\\..\\..\\prakerja-evil.csv", "/etc/prakerja-evil.csv",
             "%2e%2e%2fprakerja-evil.csv", "prakerja-evil.csv\x00.png")
_files = itertools.count(1)


def contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, except when each chat was last seen (every message touches it)."""
    with sqlite3.connect(path) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        result = {}
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            keep = [i for i, name in enumerate(names) if not (table == "chats" and name == "last_seen")]
            result[table] = sorted((tuple(row[i] for i in keep) for row in cursor.fetchall()), key=repr)
    return result


def payload(action: str, arg: str) -> str | None:
    data = f"{action}:{arg}" if arg else action
    return data if len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA else None


async def test_a_non_admin_pressing_every_staff_button_and_command_changes_nothing(
        app: App, user: TelegramUser) -> None:
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, str(ADMIN_ID), body="Rahasia")
    await user.send("/perintahyangtidakada")
    unknown = answered(user)
    await user.callback("tombolyangtidakada:1")
    stale = answered(user)
    before = contents(app.settings.database_path)
    args = ("", "1", "4", str(draft.id), f"{draft.id}:all", f"{draft.id}:99999999", f"telegram:{ADMIN_ID}:admin",
            f"admin:telegram:{user.user_id}", "-1", "9" * 40, "../../etc/passwd", *SQL)
    pressed = 0
    for action in STAFF_ACTIONS:
        for arg in args:
            data = payload(action, arg)
            if data is None:
                continue
            await user.callback(data)
            assert answered(user) == stale, (data, user.text)
            pressed += 1
    for command in STAFF_COMMANDS:
        await user.send(f"/{command} 081100000001 pemohon menelepon")
        assert answered(user) == unknown, command
        await user.callback(f"go:{command}")
        assert answered(user) == stale, command
    assert pressed > 3 * len(STAFF_ACTIONS)
    assert contents(app.settings.database_path) == before  # nothing changed, nothing even audited as done


async def test_someone_elses_contact_card_cannot_lock_its_owner_out(
        app: App, make_user, people: list[DemoApplicant]) -> None:  # type: ignore[no-untyped-def]
    siti = people[0]
    attacker, owner = make_user(1111), make_user(4242)
    await attacker.send("/hubungkan")
    for _ in range(10):
        await attacker.share_contact(siti.phone, user_id=owner.user_id)  # Siti's card, from the phone book
        assert "bukan nomor akun Telegram Anda" in answered(attacker)
    lock = await app.storage.link_attempts.state([f"phone:{siti.phone}"], app.router.services.clock())
    assert lock.failures == 0 and lock.locked_until is None
    await owner.send("/hubungkan")
    await owner.share_contact(siti.phone)
    await owner.send(siti.nik)
    assert "Berhasil" in answered(owner)


async def test_sql_looking_strings_in_every_field(app: App, make_user, application: Application,
                                                  people: list[DemoApplicant]) -> None:  # type: ignore[no-untyped-def]
    accounts_before = contents(app.settings.database_path)["accounts"]
    staff = make_user(SUPPORT_ID)
    for index, sql in enumerate(SQL):
        user: TelegramUser = make_user(1200 + index, first_name=sql, language_code=sql[:10])
        for text in (sql, f"/pelatihan {sql}", f"/ceklink {sql}", f"/hasil {sql}"):
            await user.send(text)
            answered(user)
        await user.send("/pelatihan")
        await user.send(sql)  # as the search keyword, inside the step
        answered(user)
        await user.send("/hubungkan")
        await user.share_contact(sql)  # a contact whose "phone" is SQL
        assert "tidak terdaftar" in answered(user)
        await user.send("/hubungkan")
        await user.share_contact(people[2].phone)
        await user.send(sql)  # as the NIK
        assert "NIK" in answered(user)
        await user.callback(f"plat:{sql}"[:64])
        answered(user)
        await staff.send(f"/cari {sql} alasan uji")
        assert "Tidak ditemukan" in answered(staff) or "NOMOR" in staff.text
    await staff.send("/cari 081100000001 pemohon menelepon")
    assert "Siti" in answered(staff)
    assert contents(app.settings.database_path)["accounts"] == accounts_before
    assert integrity_ok(app.settings.database_path)


async def test_nik_brute_force_lock_holds_across_restart_and_channels(
        app: App, user: TelegramUser, make_user, tg_settings: Settings, api: FakeBotApi,  # type: ignore[no-untyped-def]
        wa_user: WhatsAppUser, people: list[DemoApplicant]) -> None:
    siti, budi = people[0], people[1]
    await user.send("/hubungkan")
    await user.share_contact(siti.phone)
    for _ in range(app.router.services.config.max_link_failures):
        await user.send(budi.nik)  # a NIK of the right shape, not Siti's
        assert user.calls("deleteMessage")  # every guess leaves the chat history
    assert "dikunci sampai" in answered(user)
    await user.send(siti.nik)
    assert "Berhasil" not in answered(user)
    audit = await app.storage.audit.for_subject(f"chat:{(await app.storage.chats.find('telegram', '1001')).id}")  # type: ignore[union-attr]
    assert sum(1 for e in audit if e.action == "link_failed") == app.router.services.config.max_link_failures

    other_chat = make_user(2002)  # the same phone from another Telegram chat (the attacker's second account)
    await other_chat.send("/hubungkan")
    await other_chat.share_contact(siti.phone)
    assert "dikunci" in answered(other_chat)
    console = ChatDriver(app.router, user_id="konsol-1", channel=Channel.CONSOLE)
    await console.command("hubungkan")
    await console.contact(siti.phone)
    assert "dikunci" in console.text_out
    await wa_user.text("hubungkan")  # Siti's own WhatsApp number: the platform vouches for it
    assert "dikunci" in wa_user.text_out and "16 digit NIK" not in wa_user.text_out

    restarted = await open_app(tg_settings, pepper=DEMO_PEPPER)  # a new process on the same database file
    try:
        async with build_application(restarted, tg_settings) as application:
            again = TelegramUser(application, api, user_id=user.user_id)
            await again.send("/hubungkan")
            assert "dikunci" in answered(again)
            later = restarted.router.services.clock() + timedelta(minutes=61)
            restarted.router.services.clock = lambda: later  # an hour on: the lock has run out
            await again.send("/hubungkan")
            await again.share_contact(siti.phone)
            await again.send(siti.nik)
            assert "Berhasil" in answered(again)
    finally:
        await restarted.close()


async def test_typing_someone_elses_number_cannot_lock_its_owner_out(
        app: App, http: httpx.AsyncClient, web: Web, wa_api: FakeWhatsAppApi, wa_user: WhatsAppUser,
        people: list[DemoApplicant]) -> None:
    """A WhatsApp user without a number (username only) types Siti's number and guesses the code sent to Siti."""
    attacker = WhatsAppUser(http, web, wa_api, APP_SECRET, wa_id="ID.2200000000000666")
    await attacker.text("hubungkan")
    await attacker.text(people[0].phone)
    for guess in range(app.router.services.config.max_link_failures):
        await attacker.text(f"{guess:06d}")
    assert "dikunci" in attacker.text_out  # the attacker's chat is locked: right
    await wa_user.text("hubungkan")  # Siti, from her own number, who never failed anything
    assert "16 digit NIK" in wa_user.text_out, wa_user.text_out


@pytest.fixture
def admin_user(app: App, application: Application, api: FakeBotApi) -> TelegramUser:
    """The configured admin on Telegram, whose uploads the bot downloads from the fake Bot API."""
    app.router.services.files[Channel.TELEGRAM] = TelegramFiles(application.bot)
    return TelegramUser(application, api, user_id=ADMIN_ID)


async def upload(user: TelegramUser, name: str, size: int, file_id: str | None = None,
                 mime: str = "text/csv") -> None:
    document = {"file_id": file_id or f"f{next(_files)}", "file_unique_id": f"u{next(_files)}", "file_name": name,
                "file_size": size, "mime_type": mime}
    await user.feed({"message": user.message(document=document)})


def strays(*folders: Path) -> list[Path]:
    """Files named like the traversal targets: anywhere below the test's own folder, directly in the others (where
    a climbing name lands; a walk of all of /tmp would race with other programs deleting their folders there)."""
    found = list(folders[0].rglob("prakerja-evil*"))
    others = (*folders[1:], Path("/etc"))
    return found + [p for folder in others if folder.exists() for p in folder.glob("prakerja-evil*")]


async def test_document_names_that_climb_out_of_a_folder(app: App, admin_user: TelegramUser, user: TelegramUser,
                                                         api: FakeBotApi, tmp_path: Path) -> None:
    csv = b"nik,phone,name,wave,result,card_number,balance\n3171234507900001,081299990001,Uji Coba,8,tidak_lolos,,\n"
    folders = (tmp_path, Path.cwd(), Path("/tmp"))
    before = strays(*folders)
    for name in TRAVERSAL:
        await user.feed({"message": user.message(document={"file_id": "x", "file_unique_id": "x", "file_name": name,
                                                           "file_size": len(csv)})})
        assert "tidak memproses berkas" in answered(user)
        file_id = f"evil{next(_files)}"
        api.add_file(file_id, csv, "data.csv")
        await admin_user.send("/impor")
        await upload(admin_user, name, len(csv), file_id)
        text = answered(admin_user)
        assert "Impor selesai" in text or "bukan berkas CSV" in text, text
    await admin_user.send("/impor")
    # The name is shown back: escaped, so that Telegram takes the message.
    await upload(admin_user, "<b>laporan</b>.exe", 10, mime="application/x-msdownload")
    assert "bukan berkas CSV" in answered(admin_user) and "&lt;b&gt;" in admin_user.text
    assert strays(*folders) == before  # no file was written under any of those names


async def test_a_50_mb_upload_is_refused_and_nothing_changes(app: App, admin_user: TelegramUser,
                                                             api: FakeBotApi) -> None:
    await admin_user.send("/impor")
    before = contents(app.settings.database_path)
    await upload(admin_user, "data.csv", FileSizeLimit.FILESIZE_UPLOAD)  # the update already says 50 MB
    assert "terlalu besar" in answered(admin_user)
    assert not admin_user.calls("getFile")  # refused before asking for the file
    api.add_file("understated", b"nik,phone\n", "data.csv", size=FileSizeLimit.FILESIZE_UPLOAD)
    await upload(admin_user, "data.csv", 1024, "understated")  # says 1 KB; getFile says 50 MB
    assert "terlalu besar" in answered(admin_user)
    assert admin_user.calls("getFile") and api.downloads == []  # never downloaded
    assert contents(app.settings.database_path) == before
