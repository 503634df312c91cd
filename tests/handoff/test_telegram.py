"""The hand-off on Telegram, end to end: the applicant's chat and the support group both through the real
Application against the fake Bot API on loopback; the desk worker makes topics; staff answers go through the outbox."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.channels.telegram.topics import SupportDesk
from bot.demo import DemoApplicant
from bot.outbox import run_sender
from bot.sender import worker
from storage.models import PostState
from tests.auxil.fake_bot_api import Call, FakeBotApi
from tests.handoff.conftest import GROUP, Outbox, Staff, topic_of, topic_texts
from tests.telegram.user import TelegramUser


async def link(user: TelegramUser, person: DemoApplicant) -> None:
    await user.send("/hubungkan")
    await user.share_contact(person.phone)
    await user.send(person.nik)
    assert "Berhasil" in user.text


@pytest.mark.parametrize("app", ["sqlite", "postgres"], indirect=True)
async def test_a_ticket_from_telegram_relayed_both_ways_closed_and_rated(
    app: App, api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk, outbox: Outbox,
    people: list[DemoApplicant],
) -> None:
    await link(applicant, people[0])
    await applicant.press_menu("Hubungi petugas")
    assert "Tulis pertanyaan Anda" in applicant.text
    await applicant.send("Kartu saya belum bisa dipakai untuk membeli pelatihan.")
    assert "tiket #1" in applicant.text and "paling lambat" in applicant.text and "WIB" in applicant.text
    assert "Masalah selesai" in applicant.labels

    assert await desk.step() == 1
    thread = topic_of(api, 1)
    assert "+62811****0001" in api.topics[str(GROUP)][thread].name  # the masked phone names the topic
    card, question = topic_texts(api, thread)
    assert "Tiket #1" in card and "Siti" in card and "Gelombang 1: lolos" in card  # the /cari view
    assert "5xxx xxxx xxxx" in card  # the card number masked for staff
    assert "belum bisa dipakai" in question
    # The bot itself stays quiet on free text while the ticket is open, and forwards it.
    await applicant.send("Saya sudah mencoba dua kali kemarin.")
    assert applicant.text == ""  # acknowledged once, not at every message
    assert await desk.step() == 1
    assert "mencoba dua kali" in topic_texts(api, thread)[-1]
    # ...but menus and commands still work.
    await applicant.send("/hasil")
    assert "Lolos" in applicant.text

    await staff.write("Kartu Anda aktif dalam 1x24 jam setelah pengumuman. Silakan coba lagi besok.", thread)
    assert staff.said(thread) == ""  # relayed silently: nothing to answer in the topic
    await outbox.deliver()
    answer = api.texts(applicant.chat_id)[-1]
    assert "Petugas Prakerja" in answer and "tiket #1" in answer and "coba lagi besok" in answer

    await staff.write("/selesai", thread)
    assert "ditutup" in staff.said(thread)
    await outbox.deliver()
    assert "Bagaimana pelayanan petugas" in api.texts(applicant.chat_id)[-1]
    await applicant.press("5 ⭐")
    assert "Terima kasih atas penilaian" in applicant.text
    await desk.step()
    assert "nilai 5/5" in topic_texts(api, thread)[-1]
    assert api.topics[str(GROUP)][thread].closed
    ticket = await app.storage.tickets.get(1)
    assert ticket is not None and not ticket.is_open and ticket.rating == 5 and ticket.assignee == str(staff.user_id)
    assert {m.state for m in await app.storage.tickets.messages(1)} <= {PostState.POSTED, PostState.SENT}
    # Everything audited: opened, each message both ways, the answer, the close, the rating, the card shown.
    audit = {e.action for e in await app.storage.audit.for_subject("ticket:1")}
    assert {"ticket_open", "ticket_message", "ticket_reply", "ticket_close", "ticket_rating", "ticket_topic"} <= audit
    await applicant.send("/akses")
    assert "Data Anda dilihat" in applicant.text  # the state card shown to staff counts as a look-up


async def test_a_staff_answer_leaves_at_once_not_at_the_senders_next_poll(
    app: App, api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk,
    people: list[DemoApplicant], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sender runs beside the handlers, as in `run` and `serve`, with its idle poll far away: only being woken
    # by the staff member's update can bring the answer within the test's few seconds.
    monkeypatch.setattr(worker, "IDLE_POLL", 60.0)
    await link(applicant, people[0])
    await applicant.press_menu("Hubungi petugas")
    await applicant.send("Kapan saldo saya masuk?")
    assert await desk.step() == 1
    thread = topic_of(api, 1)
    stop = asyncio.Event()
    running = asyncio.create_task(run_sender(app, app.settings, stop))
    try:
        await asyncio.sleep(0.3)  # started, found nothing to send, waiting
        await staff.write("Saldo masuk paling lambat 3 hari kerja.", thread)
        def relayed(call: Call) -> bool:
            return call.params.get("chat_id") == applicant.chat_id and "3 hari kerja" in str(call.params.get("text"))
        await api.wait_for(relayed, within=5)  # raises TimeoutError if it waits for the poll
    finally:
        stop.set()
        await running
