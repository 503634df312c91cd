"""Before a wave is announced, its applicants see nothing of the result: not the card, not the balance, not a
Lolos menu. The demo's data: Agus passed wave 4, card and balance imported, announcement due in three days."""

from __future__ import annotations

import pytest

from bot.demo import DemoApplicant, demo_people
from tests.telegram.user import TelegramUser

AGUS_CARD_DIGITS = ("5123456789016789", "5123 4567 8901 6789")


@pytest.fixture
def people() -> list[DemoApplicant]:
    return demo_people()  # Siti, Budi, and Agus lolos in wave 4, not announced yet


async def link(user: TelegramUser, person: DemoApplicant, then: str = "/hubungkan") -> None:
    await user.send(then)
    if "Hubungkan akun" in user.labels:
        await user.press("Hubungkan akun")
    await user.share_contact(person.phone.lstrip("+"))
    await user.send(person.nik)
    assert "Berhasil" in user.text, user.text


def shows_nothing_of_the_result(text: str) -> None:
    assert not any(digits in text for digits in AGUS_CARD_DIGITS)
    assert "Rp" not in text and "Lolos" not in text


async def test_card_before_the_announcement_says_when_it_comes(user: TelegramUser,
                                                               people: list[DemoApplicant]) -> None:
    agus = people[2]
    await link(user, agus)
    await user.send("/kartu")
    shows_nothing_of_the_result(user.text)
    assert "belum diumumkan" in user.text and "WIB" in user.text  # the announcement time that is set
    await user.send("/hasil")
    shows_nothing_of_the_result(user.text)
    assert "belum diumumkan" in user.text and "Kartu & saldo" not in user.labels


async def test_card_asked_before_linking_is_not_shown_right_after(user: TelegramUser,
                                                                  people: list[DemoApplicant]) -> None:
    await link(user, people[2], then="/kartu")  # issue 13: once linked, the card asked for is answered
    shows_nothing_of_the_result(user.text)
    assert "belum diumumkan" in user.text


async def test_the_menu_does_not_treat_an_unannounced_applicant_as_lolos(user: TelegramUser,
                                                                         people: list[DemoApplicant]) -> None:
    await link(user, people[2])
    await user.send("/menu")
    assert "Cek syarat" in " ".join(user.labels) or any("syarat" in label.lower() for label in user.labels)
    await user.send("/panduan")
    shows_nothing_of_the_result(user.text)


async def test_without_a_time_the_card_says_not_announced(user: TelegramUser, people: list[DemoApplicant],
                                                          app) -> None:  # type: ignore[no-untyped-def]
    await app.storage.database.execute("UPDATE waves SET announce_at = NULL WHERE number = 4")
    await link(user, people[2])
    await user.send("/kartu")
    shows_nothing_of_the_result(user.text)
    assert "belum diumumkan" in user.text and "WIB" not in user.text


async def test_after_publication_the_card_shows(user: TelegramUser, people: list[DemoApplicant],
                                                app) -> None:  # type: ignore[no-untyped-def]
    await link(user, people[2])
    await app.storage.waves.publish(4)
    await user.send("/kartu")
    assert "5123 4567 8901 6789" in user.text and "Rp" in user.text
