"""The hand-off's rules and bad input: tickets kept apart, NIKs masked, roles checked in the support group, the
general topic, flooding, media over the limit, a deleted topic, the bot removed from the group."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.channels.telegram.topics import DeskUnavailable, SupportDesk
from bot.demo import DemoApplicant
from handlers.handoff import CLOSE, RATE
from tests.auxil.fake_bot_api import FakeBotApi
from tests.handoff.conftest import ADMIN, FLOOD, GROUP, Outbox, Staff, membership, topic_of, topic_texts
from tests.telegram.user import TelegramUser

NIK_RUN = re.compile(r"\d(?:[\s.\-]?\d){15}")


async def open_ticket(user: TelegramUser, question: str) -> None:
    await user.send("/petugas")
    await user.send(question)
    assert "tiket #" in user.text


async def test_a_second_applicants_messages_never_reach_the_first_ones_topic(
    app: App, api: FakeBotApi, make_applicant, staff: Staff, desk: SupportDesk, outbox: Outbox,  # type: ignore[no-untyped-def]
) -> None:
    first, second = make_applicant(1001), make_applicant(1002)
    await open_ticket(first, "Pertanyaan dari pemohon satu")
    await open_ticket(second, "Pertanyaan dari pemohon dua")
    for n in range(3):
        await first.send(f"satu-{n}")
        await second.send(f"dua-{n}")
    await desk.step()
    one, two = topic_texts(api, topic_of(api, 1)), topic_texts(api, topic_of(api, 2))
    assert all("dua" not in text for text in one) and sum("satu" in text for text in one) == 4
    assert all("satu" not in text for text in two) and sum("dua" in text for text in two) == 4
    await staff.write("Jawaban untuk pemohon satu", topic_of(api, 1))
    await outbox.deliver()
    assert any("Jawaban untuk pemohon satu" in t for t in api.texts(1001))
    assert not any("Jawaban untuk pemohon satu" in t for t in api.texts(1002))
    # A forged "Masalah selesai" or rating for someone else's ticket does nothing.
    await second.callback(f"{CLOSE}:1")
    await second.callback(f"{RATE}:1:1")
    ticket = await app.storage.tickets.get(1)
    assert ticket is not None and ticket.is_open and ticket.rating is None
    assert "tidak berlaku" in second.text


async def test_a_nik_is_masked_both_ways_and_never_stored(
    app: App, api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk, outbox: Outbox,
    people: list[DemoApplicant],
) -> None:
    nik = people[0].nik
    await open_ticket(applicant, f"Tolong cek NIK saya {nik} ya")
    assert "samarkan" in applicant.text and applicant.calls("deleteMessage")  # and the message leaves the chat
    await applicant.send(f"Atau {nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]} ini")
    assert "samarkan" in applicant.text
    await desk.step()
    thread = topic_of(api, 1)
    staff_view = "\n".join(topic_texts(api, thread))
    assert "16 digit disamarkan" in staff_view and not NIK_RUN.search(staff_view.replace("5xxx", ""))
    await staff.write(f"NIK Anda {nik} sudah kami catat", thread)
    assert "disamarkan" in staff.said(thread) and staff.calls("deleteMessage")
    await outbox.deliver()
    assert nik not in api.texts(applicant.chat_id)[-1]
    # Nothing in the database holds it: ticket messages, the audit log, the outbox.
    for table in ("ticket_messages", "audit_log", "broadcasts", "tickets"):
        rows = await app.storage.database.fetchall(f"SELECT * FROM {table}")
        dump = " ".join(str(tuple(r)) for r in rows)
        assert nik not in dump and nik[:8] not in dump.replace(" ", ""), table


async def test_only_staff_are_heard_in_the_support_group(
    app: App, api: FakeBotApi, applicant: TelegramUser, staff: Staff, member: Staff, desk: SupportDesk,
) -> None:
    await open_ticket(applicant, "Halo petugas")
    await desk.step()
    thread = topic_of(api, 1)
    for text in ("Saya juga mau jawab", "/selesai", "/cari", "/buka alasan apa saja", "/tiket"):
        calls = await member.write(text, thread)
        assert not [c for c in calls if c.method.startswith("send")], text  # ignored: no answer, no relay
    ticket = await app.storage.tickets.get(1)
    assert ticket is not None and ticket.is_open and ticket.assignee is None
    assert (await app.storage.database.fetchone("SELECT count(*) AS n FROM broadcasts"))["n"] == 0
    await member.callback("sup_buka_ok:1", {**api.sent(GROUP)[-1].result})  # a forged confirmation: ignored too
    assert not member.replies
    # Support staff: applicant commands and admin commands are not for the group.
    await staff.write("/hasil", thread)
    assert "tidak dipakai di grup petugas" in staff.said(thread)
    await staff.write("/tiket", thread)
    assert "tidak dipakai di grup petugas" in staff.said(thread)
    await staff.write("/umumkan 1", thread)
    assert "tidak dipakai di grup petugas" in staff.said(thread)


async def test_the_general_topic_and_other_topics_get_a_pointer(
    api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk,
) -> None:
    await staff.write("Ada yang bisa bantu pemohon ini?")
    assert "topik umum tidak diteruskan" in staff.said(None)
    await staff.write("/selesai")
    assert "di topik tiket" in staff.said(None)
    await staff.write("Catatan rapat", 4242)
    assert "bukan topik tiket" in staff.said(4242)


async def test_staff_commands_in_a_topic_act_on_its_applicant(
    app: App, api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk, outbox: Outbox,
    people: list[DemoApplicant],
) -> None:
    for _ in range(5):  # locked out of linking: the failure answers offered a person all along
        await applicant.send("/hubungkan")
        await applicant.share_contact(people[0].phone)
        await applicant.send("3174011203900009")
        if "Sisa" in applicant.text:
            assert "Hubungi petugas" in applicant.labels
    assert "dikunci" in applicant.text and "Hubungi petugas" in applicant.labels
    await applicant.press("Hubungi petugas")
    await applicant.send("Saya terkunci, tolong dibuka")
    await desk.step()
    thread = topic_of(api, 1)
    assert "terkunci" in topic_texts(api, thread)[0]  # the card shows the lock-out
    await staff.write("/cari", thread)
    assert "Telegram 1001" in staff.said(thread)
    await staff.write("/buka", thread)
    assert "Tulis alasannya" in staff.said(thread)
    await staff.write("/buka pemohon menghubungi lewat tiket", thread)  # this chat: not linked, so its own lock
    assert "chat:1" in staff.said(thread)
    # The phone number the applicant tried is locked too: staff name it, in the topic as anywhere.
    await staff.write(f"/buka {people[0].phone} pemohon menghubungi lewat tiket", thread)
    assert "Buka kunci" in str(staff.last[-1].params)
    await staff.press("Ya, buka kunci")
    assert "dibuka" in str([c.params.get("text") for c in staff.last])
    lock = await app.storage.link_attempts.state([f"phone:{people[0].phone}", "chat:1"], app.router.services.clock())
    assert lock.locked_until is None and lock.failures == 0
    await applicant.send("/hubungkan")
    assert "Bagikan nomor HP" in applicant.text  # the applicant can try again


async def test_a_flooding_applicant_is_told_once_and_nothing_else_is_relayed(
    api: FakeBotApi, applicant: TelegramUser, desk: SupportDesk,
) -> None:
    await open_ticket(applicant, "pesan 0")
    answers = []
    for n in range(1, FLOOD + 3):
        await applicant.send(f"pesan {n}")
        answers.append(applicant.text)
    refused = [a for a in answers if "terlalu banyak pesan" in a]
    assert len(refused) == 1 and answers.index(refused[0]) == FLOOD - 1  # the 6th in a minute, told once
    await desk.step()
    assert len(topic_texts(api, topic_of(api, 1))) == 1 + FLOOD  # the card and the five relayed
    await applicant.send("/hasil")  # the bot still serves them
    assert applicant.text


async def test_photos_go_by_file_id_and_large_files_are_refused(
    api: FakeBotApi, applicant: TelegramUser, desk: SupportDesk,
) -> None:
    await open_ticket(applicant, "Ini bukti pembayaran saya")
    photo = [{"file_id": "small-1", "file_unique_id": "s1", "width": 90, "height": 90, "file_size": 900},
             {"file_id": "big-1", "file_unique_id": "b1", "width": 1280, "height": 960, "file_size": 180_000}]
    await applicant.feed({"message": applicant.message(photo=photo, caption="struk dari platform")})
    assert "diteruskan" not in applicant.text  # acknowledged already a moment ago
    document = {"file_id": "doc-huge", "file_unique_id": "d9", "file_name": "video.mp4", "file_size": 45_000_000}
    await applicant.feed({"message": applicant.message(document=document)})
    assert "terlalu besar (45.0 MB)" in applicant.text
    await applicant.feed({"message": applicant.message(sticker={
        "file_id": "st", "file_unique_id": "st1", "type": "regular", "width": 1, "height": 1, "is_animated": False,
        "is_video": False})})
    assert "belum bisa diteruskan" in applicant.text
    await desk.step()
    thread = topic_of(api, 1)
    photos = [c for c in api.in_topic(GROUP, thread) if c.method == "sendPhoto"]
    assert [c.params["photo"] for c in photos] == ["big-1"]  # the largest size, by file id: never downloaded
    assert "struk dari platform" in photos[0].params["caption"]
    notes = topic_texts(api, thread)[-2:]
    assert "terlalu besar" in notes[0] and "stiker" in notes[1]


async def test_a_deleted_topic_is_made_again_and_nothing_is_lost(
    api: FakeBotApi, applicant: TelegramUser, staff: Staff, desk: SupportDesk,
) -> None:
    await open_ticket(applicant, "Pertanyaan pertama")
    await desk.step()
    old = topic_of(api, 1)
    api.delete_topic(GROUP, old)
    await applicant.send("Pesan setelah topiknya terhapus")
    assert await desk.step() == 1
    new = topic_of(api, 1)
    texts = topic_texts(api, new)
    assert new != old and "sebelumnya terhapus" in texts[0] and "Pesan setelah topiknya terhapus" in texts[-1]
    await staff.write("Kami lanjutkan di sini", new)
    assert staff.said(new) == ""  # the new topic answers to the ticket


async def test_the_bot_removed_from_the_group_keeps_tickets_and_tells_admins(
    app: App, api: FakeBotApi, application, applicant: TelegramUser, desk: SupportDesk, outbox: Outbox,  # type: ignore[no-untyped-def]
) -> None:
    admin = TelegramUser(application, api, user_id=ADMIN)
    await admin.send("/start")  # admins are told in their private chat with the bot
    await open_ticket(applicant, "Pertanyaan sebelum bot dikeluarkan")
    removed = api.kicked(GROUP)
    await admin.feed(membership("kicked"))
    assert not [c for c in admin.last if c.method.startswith("send")]  # nothing said to a group it left
    await outbox.deliver()
    assert "tidak lagi bisa memakai grup petugas" in api.texts(ADMIN)[-1]
    with pytest.raises(DeskUnavailable):
        await desk.step()
    await applicant.send("Masih ada yang ingin saya tanyakan")  # the bot keeps serving the applicant
    await applicant.send("/hasil")
    assert applicant.text
    await admin.send("/tiket")
    assert "sejak" in admin.text and "menunggu diteruskan ke grup petugas: 2" in admin.text

    api.faults.remove(removed)
    await admin.feed(membership("administrator"))
    await outbox.deliver()
    assert "Bot menjadi admin di grup petugas" in api.texts(ADMIN)[-1]
    assert await desk.step() == 2  # nothing lost
    texts = topic_texts(api, topic_of(api, 1))
    assert "sebelum bot dikeluarkan" in texts[1] and "Masih ada" in texts[2]


async def test_the_desk_runs_in_the_background_woken_by_each_update(
    api: FakeBotApi, applicant: TelegramUser, desk: SupportDesk,
) -> None:
    desk.poll = 30.0  # only the wake-up can make it post quickly
    await desk.start()
    try:
        await open_ticket(applicant, "Halo dari latar belakang")
        await api.wait_for(lambda c: c.method == "sendMessage" and "latar belakang" in str(c.params.get("text")),
                           within=3.0)
        assert desk.alive
    finally:
        await desk.stop()
    assert not desk.alive


async def test_unknown_text_twice_offers_a_person(applicant: TelegramUser) -> None:
    await applicant.send("asdfgh")
    assert "belum bisa menjawab" in applicant.text and "Hubungi petugas" in applicant.labels
    await applicant.send("hasil")  # a bare command word still works after one miss
    assert "Hubungkan" in applicant.text or "hasil" in applicant.text.lower()
    await applicant.send("qwerty")
    assert "Ingin bertanya langsung kepada petugas" not in applicant.text  # not in a row: counted again
    await applicant.send("zxcvb")
    assert "Ingin bertanya langsung kepada petugas" in applicant.text
    assert applicant.labels == ["Hubungi petugas", "Menu"]


async def test_the_applicant_closes_and_rates_once(
    app: App, api: FakeBotApi, applicant: TelegramUser, desk: SupportDesk,
) -> None:
    await open_ticket(applicant, "Sudah terjawab sendiri")
    await applicant.press("Masalah selesai")
    assert "Bagaimana pelayanan" in applicant.text
    await applicant.press("3 ⭐")
    await applicant.callback(f"{RATE}:1:5")
    assert "sudah memberi nilai" in applicant.text
    ticket = await app.storage.tickets.get(1)
    assert ticket is not None and ticket.rating == 3 and ticket.closed_by == str(applicant.user_id)
    await applicant.send("Pesan setelah tiket ditutup")
    assert "belum bisa menjawab" in applicant.text  # the bot answers free text again
    await desk.step()
    texts = topic_texts(api, topic_of(api, 1))
    assert "menandai masalah selesai" in texts[-2] and "nilai 3/5" in texts[-1]
    await applicant.send("/petugas")  # a new question makes a new ticket
    await applicant.send("Pertanyaan baru")
    assert "tiket #2" in applicant.text


async def test_a_fourth_ticket_within_an_hour_is_refused_and_the_desk_gets_three(
    api: FakeBotApi, applicant: TelegramUser, desk: SupportDesk,
) -> None:
    """Issue 14.8: one chat opened 25 tickets in 16.5 s. SUPPORT_TICKETS_PER_HOUR (default 3) new tickets per chat
    per hour; the fourth is refused with when to try again, and buttons to go on."""
    for n in range(1, 4):
        await open_ticket(applicant, f"Pertanyaan nomor {n}")
        await applicant.press("Masalah selesai")
        assert "Bagaimana pelayanan" in applicant.text
    await applicant.send("/petugas")
    assert "tiket #" not in applicant.text
    assert "3 tiket dalam 1 jam" in applicant.text and "coba lagi" in applicant.text
    assert re.search(r"\d\d\.\d\d WIB", applicant.text)  # when they can try again
    assert "Menu" in applicant.labels and "Bantuan" in applicant.labels
    await applicant.send("Pertanyaan nomor 4")  # not a question for a ticket: the bot answers it itself
    assert "tiket #" not in applicant.text
    await desk.step()
    topics = [topic for topic in api.topics.get(str(GROUP), {}).values() if not topic.deleted]
    assert sorted(topic.name.split(" ")[0] for topic in topics) == ["#1", "#2", "#3"]
