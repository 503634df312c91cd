"""Roles: every admin and support command and button, typed or forged by someone without the role, gets exactly
what an unknown command or a stale button gets, and changes nothing. Granted roles work and are revocable."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import App
from bot.sender import Sender
from handlers import admin, support
from handlers.router import ADMINS, STAFF
from storage.models import BroadcastKind, BroadcastState
from tests.admin.conftest import ADMIN_ID, NEW_WAVE, elapsed, populate, run_until
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi

STAFF_COMMANDS = sorted(name for routes in (admin.routes, support.routes)
                        for name, route in routes.commands.items() if route.roles <= STAFF)
ADMIN_COMMANDS = sorted(name for routes in (admin.routes, support.routes)
                        for name, route in routes.commands.items() if route.roles == ADMINS)
STAFF_ACTIONS = sorted(name for routes in (admin.routes, support.routes) for name in routes.actions)


async def unknown_answer(driver: ChatDriver) -> str:
    await driver.command("perintahyangtidakada")
    return driver.text_out


async def stale_button_answer(driver: ChatDriver) -> str:
    await driver.action("tombolyangtidakada", "1")
    return driver.text_out


def test_every_staff_route_is_role_checked() -> None:
    assert {"impor", "gelombang", "umumkan", "siaran", "siaran_status", "peran", "audit"} <= set(ADMIN_COMMANDS)
    assert {"cari", "buka", "lepas"} <= set(STAFF_COMMANDS) - set(ADMIN_COMMANDS)
    for routes in (admin.routes, support.routes):
        for name, route in routes.actions.items():
            assert route.roles <= STAFF, name


@pytest.mark.parametrize("command", STAFF_COMMANDS)
async def test_an_applicant_typing_a_staff_command_gets_the_unknown_answer(
    stranger: ChatDriver, command: str
) -> None:
    expected = await unknown_answer(stranger)
    await stranger.command(command, "1 alasan apa saja")
    assert stranger.text_out == expected
    # The bare word is free text like any other (issue 13: "cari" is a training search): the same answer as the same
    # word that no command could match, so nothing reveals that the staff command exists.
    await stranger.text(command + "!")
    as_free_text = stranger.text_out
    await stranger.command("menu")
    await stranger.text(command)
    assert stranger.text_out == as_free_text


async def test_support_staff_do_not_get_admin_commands(support: ChatDriver) -> None:
    expected = await unknown_answer(support)
    for command in ADMIN_COMMANDS:
        await support.command(command, "1")
        assert support.text_out == expected, command
    await support.command("cari", "081100000001 pemohon menelepon")
    assert "Siti" in support.text_out


@pytest.mark.parametrize("action", STAFF_ACTIONS)
async def test_forged_staff_buttons_do_nothing(app: App, stranger: ChatDriver, admin: ChatDriver,
                                               action: str) -> None:
    await populate(app, 3)
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, ADMIN_ID, body="Rahasia")
    audit_before = len(await app.storage.staff.search_audit(None, 1000))
    expected = await stale_button_answer(stranger)
    for arg in (str(NEW_WAVE), str(draft.id), f"{draft.id}:preset", f"{draft.id}:99999999",
                "admin:telegram:1001", "1", ""):
        await stranger.action(action, arg)
        assert stranger.text_out == expected, (action, arg)
    wave = await app.storage.waves.get(NEW_WAVE)
    assert wave is not None and not wave.published
    stored = await app.storage.outbox.get(draft.id)
    assert stored is not None and stored.state is BroadcastState.DRAFT and stored.audience == draft.audience
    assert await app.storage.roles.granted() == []
    assert len(await app.storage.staff.search_audit(None, 1000)) == audit_before
    await stranger.command("siaran_status")  # still nothing for them
    assert "Siaran" not in stranger.text_out


async def test_granted_support_role_works_until_revoked(
    app: App, api: FakeBotApi, admin: ChatDriver, stranger: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    expected = await unknown_answer(stranger)
    await admin.command("peran", "1001 support")
    assert "petugas layanan" in admin.text_out
    await admin.press("Ya")
    await stranger.command("cari", "081100000002 pemohon menelepon")
    assert "Budi" in stranger.text_out
    await stranger.command("umumkan", str(NEW_WAVE))
    assert stranger.text_out == expected  # support, not admin
    # The sender gives the new support agent their command menu (setMyCommands, scope: their chat).
    await run_until(make_sender(), elapsed(0.3))
    assert {c["command"] for c in api.chat_commands["1001"]} >= {"cari", "buka", "lepas"}
    assert "umumkan" not in {c["command"] for c in api.chat_commands["1001"]}

    await admin.command("peran", "1001 cabut")
    await admin.press("Ya")
    await stranger.command("cari", "081100000002 pemohon menelepon")
    assert stranger.text_out == expected
    await run_until(make_sender(), elapsed(0.3))
    assert "1001" not in api.chat_commands
    # A role from the settings cannot be revoked from the chat.
    await admin.command("peran", f"{ADMIN_ID} cabut")
    assert "tidak bisa dicabut" in admin.text_out


async def test_configured_staff_get_their_menus_when_the_sender_starts(
    api: FakeBotApi, make_sender: Callable[..., Sender]
) -> None:
    await run_until(make_sender(), elapsed(0.2))
    assert "umumkan" in {c["command"] for c in api.chat_commands[ADMIN_ID]}
    assert "umumkan" not in {c["command"] for c in api.chat_commands["9000002"]}
    assert "cari" in {c["command"] for c in api.chat_commands["9000002"]}


async def test_bad_role_requests_are_explained(admin: ChatDriver) -> None:
    await admin.command("peran", "budi admin")
    assert "bukan ID pengguna" in admin.text_out
    await admin.command("peran", "1001 raja")
    assert "tidak dikenal" in admin.text_out
    await admin.command("peran")
    assert "9000001: admin (pengaturan server)" in admin.text_out
