"""One rule for "this text holds a NIK" (issue 14.1, DESIGN.md 4): a NIK typed with any grouping and separators,
alone or inside a sentence, is deleted from the chat, never repeated to anyone, never kept in the database or its
WAL, and never written to a log line, on every path: the NIK step, free text, the training search, the link check,
a ticket (both ways), after a lock-out.

Whether a text leaks a NIK is judged here independently of the production rule: every character that is not a
letter or digit is dropped (escapes such as `\\xa0` first turned into spaces) and the 16 digits are looked for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import signal
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.ext import Application

from bot.app import App
from bot.channels.telegram.topics import SupportDesk
from bot.demo import DemoApplicant
from bot.logs import MaskingFilter
from handlers.identity import check_nik, looks_like_nik, mask_niks, nik_candidate
from handlers.router import escape
from tests.auxil.fake_bot_api import FakeBotApi
from tests.handoff import conftest as handoff
from tests.handoff.conftest import Outbox, Staff, topic_of, topic_texts
from tests.reliability.conftest import answered
from tests.reliability.strategies import typed_nik
from tests.reliability.test_crashes import START_WITHIN, answers_to, bot_env
from tests.telegram.user import TelegramUser

PATHS = settings(settings.get_profile("reliability"), max_examples=10)
NIK = "3107074611954820"  # generated for this test: the shape of a NIK (Jakarta Utara, 6 Jul 1946), nobody's
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[ntr])")
_user_ids = itertools.count(81_000_001)

# The bot with a support group (the hand-off suite's fixtures): tickets are one of the paths.
app = handoff.app
application = handoff.application
desk = handoff.desk
outbox = handoff.outbox
staff = handoff.staff


def leaks(text: str, nik: str) -> bool:
    """Does `text` still carry the 16 digits of `nik`, in any spacing or escaping?"""
    return nik in re.sub(r"[\W_]", "", _ESCAPE.sub(" ", text), flags=re.ASCII)


def files_leak(folder: Path, nik: str) -> list[str]:
    """Files under `folder` (the database, its WAL, logs) that hold the NIK in any spacing."""
    return [path.name for path in folder.rglob("*")
            if path.is_file() and leaks(path.read_bytes().decode("latin-1"), nik)]


def deleted(user: TelegramUser) -> bool:
    """The user's last message was deleted from the chat."""
    return any(c.params.get("message_id") == user.last_message_id for c in user.calls("deleteMessage"))


# --- the rule itself ------------------------------------------------------------------------------------------
@settings(settings.get_profile("reliability"), max_examples=300)
@given(typed=typed_nik(NIK))
def test_every_typed_form_is_found_masked_and_read_back(typed: str) -> None:
    assert leaks(typed, NIK)  # the strategy really typed the NIK
    assert looks_like_nik(typed)
    assert not leaks(mask_niks(typed), NIK)
    assert not leaks(escape(typed), NIK)
    assert check_nik(nik_candidate(typed)).nik == NIK  # at the NIK step, the sentence gives the NIK
    for logged in (repr(typed), json.dumps(typed), json.dumps({"text": typed}, ensure_ascii=False), str([typed])):
        record = logging.LogRecord("telegram.ext.Application", logging.DEBUG, __file__, 1, "Processing update %s",
                                   (logged,), None)
        MaskingFilter().filter(record)
        assert not leaks(record.getMessage(), NIK), record.getMessage()


@settings(settings.get_profile("reliability"), max_examples=200)
@given(text=st.text(st.characters(codec="utf-8", categories=("Nd", "Zs", "Pd", "Po", "Ll")), max_size=60))
def test_masking_never_leaves_sixteen_digits_in_a_row(text: str) -> None:
    """Whatever the mask leaves, no 16 ASCII digits remain joined only by separators."""
    remaining = re.sub(r"[\s.\-_/\u2010-\u2015\u2212\u200b]", "", mask_niks(text))
    assert not re.search(r"(?<![0-9])[0-9]{16}(?![0-9])", remaining)


# --- every path of the real bot ---------------------------------------------------------------------------------
@PATHS
@given(data=st.data())
async def test_a_typed_nik_is_deleted_and_never_repeated_or_kept_on_any_path(  # type: ignore[no-untyped-def]
        app: App, application: Application, api: FakeBotApi, staff: Staff, desk: SupportDesk,
        outbox: Outbox, people: list[DemoApplicant], data: st.DataObject) -> None:
    siti = people[0]
    user = TelegramUser(application, api, user_id=next(_user_ids))

    def typed() -> str:
        return data.draw(typed_nik(siti.nik), label="typed")

    async def says_no_nik(text: str) -> str:
        await user.send(text)
        answer = answered(user)
        assert deleted(user), f"not deleted: {text!r}"
        assert not leaks(answer, siti.nik), answer
        return answer

    # No step: free text, the search, the link check.
    await says_no_nik(typed())
    assert "Hasil pencarian" not in await says_no_nik("/pelatihan " + typed())
    await user.send("/pelatihan")
    assert "Hasil pencarian" not in await says_no_nik(typed())  # typed at the search's step
    await says_no_nik("/ceklink " + typed())
    # The NIK step: the account is linked with it, whatever the spacing.
    await user.send("/hubungkan")
    await user.share_contact(siti.phone)
    assert "Berhasil" in await says_no_nik(typed())
    # A ticket: what the applicant types reaches staff masked, and what staff type reaches the applicant masked.
    await user.send("/petugas")
    await says_no_nik(typed())
    await desk.step()
    chat = await app.storage.chats.find("telegram", str(user.chat_id))
    assert chat is not None
    ticket = await app.storage.tickets.current(chat.id)
    assert ticket is not None
    thread = topic_of(api, ticket.id)
    assert not any(leaks(text, siti.nik) for text in topic_texts(api, thread))
    await staff.write("Mohon jangan kirim NIK " + typed(), thread)
    assert any(c.params.get("message_id") == staff.last_message_id for c in staff.calls("deleteMessage"))
    await outbox.deliver()
    assert not any(leaks(text, siti.nik) for text in api.texts(user.chat_id))
    # Nothing in the database file or its WAL.
    assert files_leak(app.settings.database_path.parent, siti.nik) == []


@PATHS
@given(data=st.data())
async def test_after_a_lock_out_a_typed_nik_is_still_deleted(make_user, people: list[DemoApplicant],  # type: ignore[no-untyped-def]
                                                             data: st.DataObject) -> None:
    siti, budi = people[0], people[1]
    user: TelegramUser = make_user(next(_user_ids))
    await user.send("/hubungkan")
    await user.share_contact(budi.phone)
    for _ in range(5):
        await user.send(siti.nik)  # Budi's phone, Siti's NIK: wrong, five times
    typed = data.draw(typed_nik(budi.nik))
    await user.send(typed)
    answered(user)
    assert deleted(user)
    assert not leaks(user.text, budi.nik)


# --- the process a user runs, logging at DEBUG --------------------------------------------------------------------
FORMS = ("{a} - {b} - {c} - {d}", "{a}.{b}.{c}.{d}", "{a}  {b}  {c}  {d}", "{a}\u00a0{b}\u2013{c}\n{d}",
         "NIK saya {a}\t{b}_{c}/{d}")


async def test_python_m_bot_run_at_debug_deletes_and_logs_no_typed_nik(
        app: App, api: FakeBotApi, people: list[DemoApplicant], tmp_path: Path) -> None:
    """python-telegram-bot logs every update it processes at DEBUG ("Processing update ...", the raw text inside a
    repr): the production log filter masks it there too, in the process users start."""
    siti = people[0]
    a, b, c, d = (siti.nik[i:i + 4] for i in range(0, 16, 4))
    forms = [form.format(a=a, b=b, c=c, d=d) for form in FORMS]
    env = {**bot_env(app.settings.database_path, api), "LOG_LEVEL": "DEBUG"}
    log = tmp_path / "run.log"
    with log.open("wb") as handle:
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env,
                                                   cwd=tmp_path, stdout=handle, stderr=handle)
    try:
        expected: list[tuple[int, int]] = []  # (chat, message id) that must be deleted
        for n, form in enumerate(forms):
            user = TelegramUser(None, api, user_id=82_000_000 + n)  # type: ignore[arg-type]  # polling delivers
            for text in (form, "/pelatihan " + form):
                message = user.text_message(text)
                api.push_update({"message": message})
                expected.append((user.chat_id, message["message_id"]))
            api.push_update({"message": user.text_message("/hubungkan")})
            api.push_update({"message": user.message(contact={"phone_number": siti.phone.lstrip("+"),
                                                              "first_name": "Siti", "user_id": user.user_id})})
            step = user.text_message(form)
            api.push_update({"message": step})
            expected.append((user.chat_id, step["message_id"]))
            await api.wait_for(answers_to(api, user.chat_id, "Berhasil"), within=START_WITHIN)
        # A NIK message is deleted beside the answer, not before it: wait for the deletions themselves.
        deleted = await api.wait_for(lambda c: c.method == "deleteMessage"
                                     and (int(c.chat_id), c.params["message_id"]) in expected,
                                     count=len(expected), within=START_WITHIN)
        assert {(int(call.chat_id), call.params["message_id"]) for call in deleted} == set(expected)
    finally:
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 15) == 0
    written = log.read_text(encoding="utf-8", errors="replace")
    assert "Processing update" in written  # the line that carried the raw text is there, masked
    assert not leaks(written, siti.nik)
    assert not any(leaks(text, siti.nik) for text in api.texts())
    assert files_leak(app.settings.database_path.parent, siti.nik) == []
