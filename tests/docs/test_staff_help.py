"""/bantuan for staff (issue 12): an admin or a support member sees their own commands, one line each, and the name
of their guide; in the support group /bantuan is the staff help, not the applicant's menu. Through the real
Telegram Application against the fake Bot API."""

from __future__ import annotations

import re

import pytest
from telegram.ext import Application

from bot.app import App
from handlers.roles import Role
from handlers.support import GUIDE_ADMIN, GUIDE_SUPPORT
from tests.auxil.fake_bot_api import FakeBotApi
from tests.handoff.conftest import ADMIN, SUPPORT, Staff
from tests.telegram.user import TelegramUser

ADMIN_ONLY = ("/impor", "/gelombang", "/umumkan N", "/siaran", "/siaran_status", "/peran", "/audit", "/tiket")
SUPPORT_COMMANDS = ("/cari NOMOR ALASAN", "/buka NOMOR ALASAN", "/lepas NOMOR ALASAN", "/staf")


def staff_part(text: str) -> str:
    """The help's staff section: everything before the applicant's commands."""
    return text.split("Perintah pemohon")[0]


def commands_named(text: str) -> set[str]:
    return {match.group(1) for match in re.finditer(r"(?m)^/(\w+)", text)}


async def test_an_admin_sees_every_staff_command_and_both_guides(application: Application, api: FakeBotApi,
                                                               app: App) -> None:
    admin = TelegramUser(application, api, user_id=ADMIN, first_name="Admin")
    await admin.send("/bantuan")
    staff = staff_part(admin.text)
    assert staff.startswith("<b>Perintah admin</b>")
    for line in (*SUPPORT_COMMANDS, *ADMIN_ONLY):
        assert f"\n{line}: " in staff, line  # one line each, the usage first
    assert GUIDE_ADMIN in staff and GUIDE_SUPPORT in staff
    assert "/hasil: hasil seleksi" in admin.text  # the applicant's commands follow, for trying the bot
    # every command the help names is one the admin may run
    for name in commands_named(staff):
        assert Role.ADMIN in app.router.commands[name].roles, name


async def test_a_support_member_sees_their_commands_and_their_guide_only(application: Application,
                                                                       api: FakeBotApi, app: App) -> None:
    support = TelegramUser(application, api, user_id=SUPPORT, first_name="Rina")
    await support.send("/bantuan")
    staff = staff_part(support.text)
    assert staff.startswith("<b>Perintah petugas</b>")
    for line in SUPPORT_COMMANDS:
        assert f"\n{line}: " in staff, line
    assert not [c for c in ADMIN_ONLY if f"\n{c}:" in staff]
    assert GUIDE_SUPPORT in staff and GUIDE_ADMIN not in staff
    assert "Jangan pernah meminta NIK, PIN, kode OTP, atau kata sandi" in staff
    for name in commands_named(staff):
        assert Role.SUPPORT in app.router.commands[name].roles, name


async def test_an_applicant_sees_no_staff_command(applicant: TelegramUser) -> None:
    await applicant.send("/bantuan")
    assert "Yang bisa saya bantu" in applicant.text
    assert "/cari" not in applicant.text and "panduan-petugas" not in applicant.text


@pytest.mark.parametrize("command", ["/bantuan", "/help", "/staf"])
async def test_help_in_the_support_group_is_the_desk_help(staff: Staff, command: str) -> None:
    await staff.write(command)  # the general topic
    said = staff.said()
    assert said.startswith("<b>Perintah di grup petugas</b>")
    assert "/selesai" in said and "/cari NOMOR ALASAN" in said and GUIDE_SUPPORT in said
    assert "/tiket" not in said  # an admin's command: not offered to a support member
    assert "/menu" not in said  # applicant commands do not work in the group
