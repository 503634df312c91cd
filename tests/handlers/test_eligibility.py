"""/syarat: one yes/no question per exclusion rule; the first "Ya" names the rule, all "Tidak" means eligible."""

from __future__ import annotations

import pytest

from bot.app import App, open_app
from bot.demo import DEMO_PEPPER
from handlers.eligibility import ANSWER, RULES
from tests.auxil.driver import ChatDriver

# What the exclusion names, in the order the questions come (the seed's list, then earlier participants).
EXCLUDED = ["Pejabat Negara", "DPR/DPRD", "Aparatur Sipil Negara", "Tentara Nasional Indonesia",
            "Kepolisian Negara Republik Indonesia", "Kepala Desa dan perangkat desa", "BUMD atau BUMN",
            "BSU, BPUM, atau Kartu Prakerja 2020", "periode sebelumnya"]


def test_one_question_per_rule() -> None:
    assert len(RULES) == len(EXCLUDED)


@pytest.mark.parametrize("rule", range(len(EXCLUDED)))
async def test_first_yes_names_the_rule_that_excludes(chat: ChatDriver, rule: int) -> None:
    await chat.command("syarat")
    for _ in range(rule):
        await chat.press("Tidak")
    assert f"Pertanyaan {rule + 1} dari {len(EXCLUDED)}" in chat.text_out
    await chat.press("Ya")
    assert "tidak bisa menjadi peserta" in chat.text_out
    assert EXCLUDED[rule] in chat.text_out
    assert "Pertanyaan" not in chat.text_out
    await chat.action(ANSWER, f"{rule + 1}:n")  # an old button after the end
    assert "sudah selesai" in chat.text_out


async def test_all_no_means_eligible_with_the_note_and_next_steps(chat: ChatDriver) -> None:
    await chat.command("menu")
    await chat.press("Cek syarat peserta")
    for _ in EXCLUDED:
        await chat.press("Tidak")
    text = chat.text_out
    assert "memenuhi syarat" in text
    assert "sudah menjadi peserta di periode sebelumnya tidak bisa kembali mendaftar" in text
    assert "Langkah berikutnya" in text and "www.prakerja.go.id" in text
    assert "Hubungkan akun" in chat.labels


async def test_typed_answers_count_and_other_text_repeats_the_question(chat: ChatDriver) -> None:
    await chat.command("syarat")
    await chat.text("tidak")
    await chat.text("Tidak.")
    assert "Pertanyaan 3 dari" in chat.text_out
    await chat.text("mungkin")
    assert "Ya</b> atau <b>Tidak" in chat.text_out and "Pertanyaan 3 dari" in chat.text_out
    await chat.text("ya")
    assert "Aparatur Sipil Negara" in chat.text_out


async def test_stale_and_forged_answers_do_not_count(chat: ChatDriver) -> None:
    await chat.command("syarat")
    await chat.press("Tidak")
    await chat.press("Tidak")
    for forged in ("0:y", "1:y", "abc", "2:maybe", "", "9" * 5000 + ":y"):
        await chat.action(ANSWER, forged)
        assert "pertanyaan lain" in chat.text_out and "Pertanyaan 3 dari" in chat.text_out
    await chat.action(ANSWER, "2:n")
    assert "Pertanyaan 4 dari" in chat.text_out


async def test_answer_without_a_questionnaire_offers_to_start(chat: ChatDriver) -> None:
    await chat.action(ANSWER, "0:y")
    assert "sudah selesai atau dibatalkan" in chat.text_out and "Mulai cek syarat" in chat.labels


async def test_a_restart_mid_questionnaire_continues(app: App, chat: ChatDriver) -> None:
    await chat.command("syarat")
    for _ in range(3):
        await chat.press("Tidak")
    pending = chat.button("Tidak")
    restarted = await open_app(app.settings, pepper=DEMO_PEPPER)  # a new process on the same database
    try:
        again = ChatDriver(restarted.router, user_id=chat.user_id)
        await again.action(pending.action, pending.arg)
        assert "Pertanyaan 5 dari" in again.text_out
    finally:
        await restarted.close()
