"""One digit parser (issue 14.10): numbers in button payloads, typed choices and commands are read from ASCII digits
only. "²" and "١٢" pass `str.isdigit()`, after which `int()` raised: a traceback in the log for a forged Telegram
button, and no reply at all on WhatsApp. Every registered action is forged here with such digits."""

from __future__ import annotations

import logging

import pytest

from handlers.digits import is_digits, parse_int
from tests.reliability.conftest import SORRY, answered
from tests.reliability.strategies import ACTIONS
from tests.telegram.user import TelegramUser
from tests.whatsapp.user import WhatsAppUser

NOT_ASCII = ("²", "١٢", "1²", "²:1", "1:²", "٣:٤", "𝟙")


@pytest.mark.parametrize("text", [*NOT_ASCII, "", " ", "+1", "1.0", "1e3", "0x1", "-", "1_000", "1" * 13])
def test_parse_int_refuses_anything_but_ascii_digits(text: str) -> None:
    assert parse_int(text) is None


def test_parse_int_reads_ascii_digits_and_signs_where_asked() -> None:
    assert (parse_int("42"), parse_int(" 7 "), parse_int("-100123", signed=True), parse_int("-1")) == (42, 7, -100123,
                                                                                                       None)
    assert is_digits("0123") and not is_digits("²") and not is_digits("")


async def test_every_action_forged_with_other_digits_is_answered_without_a_traceback(
        make_user, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    errors = []
    for user_id, role in ((9000001, "admin"), (9000002, "support"), (5500001, "applicant")):
        user: TelegramUser = make_user(user_id)
        await user.send("/start")
        for action in ACTIONS:
            for arg in NOT_ASCII:
                mark = len(caplog.records)
                await user.callback(f"{action}:{arg}")
                if user.replies:
                    assert SORRY not in user.text, (role, action, arg)
                errors += [(role, action, arg, r.getMessage()) for r in caplog.records[mark:]
                           if r.levelno >= logging.ERROR]
    assert errors == []


async def test_a_whatsapp_page_button_with_other_digits_gets_an_answer(wa_user: WhatsAppUser) -> None:
    for arg in NOT_ASCII:
        await wa_user.send("button_reply", interactive={"type": "button_reply",
                                                         "button_reply": {"id": f"wa_page:{arg}", "title": "Lagi"}})
        assert wa_user.last, arg  # not silence
        assert SORRY not in wa_user.text_out


async def test_a_typed_choice_in_another_script_is_not_a_number(wa_user: WhatsAppUser, make_user) -> None:  # type: ignore[no-untyped-def]
    await wa_user.text("menu")
    await wa_user.text("٢")
    assert wa_user.last and SORRY not in wa_user.text_out
    user: TelegramUser = make_user(5500002)
    await user.send("/siaran_status")
    answered(user)
