"""Handlers ask what a platform can do (`Event.can`, set by each channel's adapter; `Channel`'s traits for a stored
chat), never which platform it is (design note 21)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.app import App
from bot.channels import console
from bot.channels.telegram import updates as telegram
from bot.channels.whatsapp import inbound as whatsapp
from bot.demo import DemoApplicant
from handlers.api import Capabilities
from handlers.roles import Channel
from tests.auxil.driver import ChatDriver

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
DEFINITION = HANDLERS / "roles.py"


def _names_a_channel(node: ast.expr) -> bool:
    """`Channel.WHATSAPP` or `Channel.WHATSAPP.value`."""
    if isinstance(node, ast.Attribute) and node.attr == "value":
        node = node.value
    return (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Channel"
            and node.attr.isupper())


def test_no_handler_compares_a_channel_name() -> None:
    found = []
    for path in sorted(HANDLERS.rglob("*.py")):
        if path == DEFINITION:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(_names_a_channel(n) for n in [node.left, *node.comparators]):
                found.append(f"{path.relative_to(HANDLERS.parent)}:{node.lineno}")
            elif isinstance(node, ast.Match) and any(
                    isinstance(case.pattern, ast.MatchValue) and _names_a_channel(case.pattern.value)
                    for case in node.cases):
                found.append(f"{path.relative_to(HANDLERS.parent)}:{node.lineno}")
    assert found == [], "ask Event.can or a Channel trait instead of comparing channels: " + ", ".join(found)


def test_each_adapter_says_what_its_platform_can_do() -> None:
    assert telegram.CAPABILITIES == Capabilities(delete_messages=True, share_contact=True, files_to_desk=True)
    assert whatsapp.CAPABILITIES == Capabilities()  # no deleting, no contact button, media ids WhatsApp's own
    assert console.CAPABILITIES.share_contact and not console.CAPABILITIES.files_to_desk
    assert Channel.WHATSAPP.reply_window is not None and Channel.TELEGRAM.reply_window is None
    assert Channel.WHATSAPP.phone_ids and not Channel.TELEGRAM.phone_ids


async def test_the_nik_step_promises_deletion_only_where_the_platform_deletes(
    app: App, people: list[DemoApplicant],
) -> None:
    siti = people[0]
    for user, can, promise in (("cap-1", Capabilities(share_contact=True), "sebaiknya hapus pesan berisi NIK"),
                               ("cap-2", Capabilities(share_contact=True, delete_messages=True), "akan dihapus")):
        chat = ChatDriver(app.router, user_id=user, channel=Channel.CONSOLE, can=can)  # the same channel both times
        await chat.command("hubungkan")
        assert chat.replies[0].request_contact  # a contact button
        await chat.contact(siti.phone)
        assert promise in chat.text_out


async def test_without_a_contact_button_the_number_is_typed(app: App) -> None:
    chat = ChatDriver(app.router, user_id="cap-3", channel=Channel.CONSOLE, can=Capabilities())
    await chat.command("hubungkan")
    assert not any(reply.request_contact for reply in chat.replies)
    assert "nomor HP" in chat.text_out
