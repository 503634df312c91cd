"""With a support desk, a message not understood offers the person once, even when a person is among the closest
things the bot can do (the qa-chat tester saw "Hubungi petugas" twice)."""

from __future__ import annotations

from tests.auxil.driver import ChatDriver


async def test_not_understood_offers_a_person_once(chat: ChatDriver) -> None:
    await chat.text("no 9")  # no list on screen: close to the card number, the phone number and a person
    assert "Saya bisa membantu soal Kartu Prakerja" in chat.text_out
    assert chat.labels.count("Hubungi petugas") == 1
