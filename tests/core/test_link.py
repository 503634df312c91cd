"""Linking a chat to an account: phone first, NIK second, lock-out after five failures."""

from __future__ import annotations

from bot.app import App
from bot.demo import DemoApplicant
from tests.auxil.driver import ChatDriver


async def test_link_with_own_phone_and_nik_then_result(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.command("hubungkan")
    assert chat.replies[0].request_contact
    await chat.contact(siti.phone.lstrip("+"))  # Telegram sends the number without "+"
    assert "NIK" in chat.text_out
    await chat.text(siti.nik)
    assert "Berhasil" in chat.text_out and "Siti" in chat.text_out
    assert chat.last.forget_incoming  # the message with the NIK is deleted
    await chat.command("hasil")
    assert "Lolos" in chat.text_out and "Tidak Lolos" not in chat.text_out


async def test_nik_typo_costs_no_attempt_and_names_the_digit(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.command("hubungkan")
    await chat.contact(siti.phone)
    await chat.text("12345")
    assert "16 digit" in chat.text_out
    await chat.text("99" + siti.nik[2:])
    assert "digit ke-1" in chat.text_out
    assert "Sisa" not in chat.text_out


async def test_five_wrong_niks_lock_the_chat_for_an_hour(
    app: App, chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    budi, siti = people[1], people[0]
    await chat.command("hubungkan")
    await chat.contact(siti.phone)
    for _attempt in range(5):
        await chat.text(budi.nik)  # valid shape, wrong person
    assert "dikunci sampai" in chat.text_out and "WIB" in chat.text_out
    await chat.command("hubungkan")
    assert "dikunci" in chat.text_out
    # Even the right NIK is refused while locked.
    await chat.contact(siti.phone)
    assert "dikunci" in chat.text_out


async def test_forged_contact_is_refused(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    await chat.command("hubungkan")
    await chat.contact(people[0].phone, own=False)
    assert "bukan nomor" in chat.text_out
    assert chat.replies[0].request_contact


async def test_unknown_phone_is_counted_and_explained(chat: ChatDriver) -> None:
    await chat.command("hubungkan")
    await chat.contact("+6281299998888")
    assert "tidak terdaftar" in chat.text_out and "Sisa 4 percobaan" in chat.text_out


async def test_restart_in_the_middle_of_linking_continues(
    app: App, tmp_path, people: list[DemoApplicant]
) -> None:
    from bot.app import open_app
    from bot.demo import DEMO_PEPPER

    siti = people[0]
    first = ChatDriver(app.router, user_id="2002")
    await first.command("hubungkan")
    await first.contact(siti.phone)
    await app.close()  # the process dies here; the step is in the database
    reopened = await open_app(app.settings, pepper=DEMO_PEPPER)
    try:
        again = ChatDriver(reopened.router, user_id="2002")
        await again.text(siti.nik)
        assert "Berhasil" in again.text_out
    finally:
        await reopened.close()
        app.storage = reopened.storage  # the fixture closes it again harmlessly


async def test_linking_from_a_second_chat_moves_the_link_and_tells_the_old_chat(
    app: App, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    old = ChatDriver(app.router, user_id="3001")
    new = ChatDriver(app.router, user_id="3002")
    await old.link(siti.phone, siti.nik)
    await new.link(siti.phone, siti.nik)
    assert "Berhasil" in new.text_out
    assert [n.chat_id for n in new.last.notices] == ["3001"]
    await old.command("hasil")
    assert "belum terhubung" in old.text_out


async def test_unlink_needs_confirmation(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.link(siti.phone, siti.nik)
    await chat.command("putuskan")
    assert "Putuskan" in chat.text_out
    await chat.command("hasil")  # not confirmed: still linked
    assert "Lolos" in chat.text_out
    await chat.command("putuskan")
    await chat.press("Ya, putuskan")
    assert "tidak lagi terhubung" in chat.text_out
    await chat.command("hasil")
    assert "belum terhubung" in chat.text_out
