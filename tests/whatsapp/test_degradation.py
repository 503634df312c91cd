"""Choices degrade to what WhatsApp shows: 3 reply buttons, a list of 10 rows, numbered pages beyond."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.web import Web
from handlers import MODULES
from handlers.api import Button, rows
from handlers.context import Context
from handlers.router import Router, Routes
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET, make_web, wa_settings
from tests.whatsapp.user import WhatsAppUser

LONG_BODY = "Kalimat panjang untuk menguji batas. " * 40  # over the 1,024 characters of an interactive body


def offering(count: int, label: str = "Pilihan nomor {i}", body: str = "Pilih satu:") -> Routes:
    routes = Routes()

    @routes.command("pilih")
    async def offer(ctx: Context) -> None:
        ctx.say(body, rows(*(Button(label.format(i=i), "picked", str(i)) for i in range(1, count + 1))))

    @routes.action("picked")
    async def picked(ctx: Context) -> None:
        ctx.say(f"Anda memilih {ctx.event.arg}")

    return routes


@pytest.fixture
async def make_user(app: App, wa_api: FakeWhatsAppApi, tmp_path: Path) -> AsyncIterator[object]:
    """A user of a bot with one extra command, /pilih, offering the choices of `offering(...)`."""
    started: list[tuple[Web, httpx.AsyncClient]] = []

    async def make(routes: Routes) -> WhatsAppUser:
        router = Router(app.router.services, (*MODULES, routes), app.router.fallbacks)
        web = make_web(App(app.settings, app.storage, router), wa_settings(tmp_path, wa_api))
        await web.start()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=web.starlette), base_url="http://bot.test")
        started.append((web, http))
        return WhatsAppUser(http, web, wa_api, APP_SECRET)

    yield make
    for web, http in started:
        await http.aclose()
        await web.stop()


@pytest.mark.parametrize(("count", "shape"), [
    (2, "button"), (3, "button"), (4, "list"), (10, "list"), (11, "numbered"), (30, "numbered"),
])
async def test_choices_degrade_by_count_and_each_still_works(make_user, count: int, shape: str) -> None:
    user = await make_user(offering(count))
    [message] = await user.text("pilih")
    if shape == "numbered":
        pages = -(-count // 10)
        assert message.interactive_type == "button"
        assert "1. Pilihan nomor 1" in message.body and f"halaman 1 dari {pages}" in message.body
        assert "11. Pilihan nomor 11" not in message.body
        assert user.titles == ["Berikutnya ▶"]
        await user.text(str(count))  # typing the number presses the choice, on any page
        assert user.text_out == f"Anda memilih {count}"
    else:
        assert message.interactive_type == shape
        assert len(message.choices) == count
        await user.press(f"Pilihan nomor {count}")
        assert user.text_out == f"Anda memilih {count}"


async def test_numbered_pages_go_forward_and_back(make_user) -> None:
    user = await make_user(offering(30))
    await user.text("pilih")
    [page2] = await user.press("Berikutnya")
    assert "11. Pilihan nomor 11" in page2.body and "20. Pilihan nomor 20" in page2.body
    assert "halaman 2 dari 3" in page2.body and user.titles == ["◀ Sebelumnya", "Berikutnya ▶"]
    await user.press("Berikutnya")
    assert "30. Pilihan nomor 30" in user.text_out and user.titles == ["◀ Sebelumnya"]
    await user.press("Sebelumnya")
    assert "halaman 2 dari 3" in user.text_out
    await user.text("25")
    assert user.text_out == "Anda memilih 25"


async def test_a_number_out_of_range_or_after_other_messages_is_plain_text(make_user) -> None:
    user = await make_user(offering(11))
    await user.text("pilih")
    await user.text("12")
    assert "belum bisa menjawab" in user.text_out  # not a choice: free text, and nothing it could mean
    await user.text("3")  # the menu replaced the numbered choices: "3" means nothing now
    assert "Anda memilih" not in user.text_out


async def test_long_labels_leave_buttons_for_a_list_with_descriptions(make_user) -> None:
    user = await make_user(offering(2, label="Label yang sangat panjang sekali nomor {i}"))
    [message] = await user.text("pilih")
    assert message.interactive_type == "list"
    row = message.message["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) <= 24 and row["description"] == "Label yang sangat panjang sekali nomor 1"


async def test_long_body_goes_first_as_text_then_the_buttons(make_user) -> None:
    user = await make_user(offering(2, body=LONG_BODY))
    messages = await user.text("pilih")
    assert [m.type for m in messages] == ["text", "interactive"]
    assert messages[0].body == LONG_BODY.strip()
    await user.press("Pilihan nomor 2")
    assert user.text_out == "Anda memilih 2"


async def test_text_over_4096_characters_is_split(make_user) -> None:
    routes = Routes()

    @routes.command("pilih")
    async def long(ctx: Context) -> None:
        ctx.say("\n".join(f"Baris {i}: " + "x" * 90 for i in range(100)))

    user = await make_user(routes)
    messages = await user.text("pilih")
    assert len(messages) == 3 and all(len(m.body) <= 4096 for m in messages)
    assert messages[0].body.startswith("Baris 0:") and messages[-1].body.endswith("x" * 90)
