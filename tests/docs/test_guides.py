"""The staff guides cannot silently go stale: every transcript in docs/panduan-admin.md and docs/panduan-petugas.md is
replayed through the terminal demo (piped input, one session per guide) and the `python -m bot` commands, and the
bot's lines shown in the guide must still appear (dates, times and waiting times normalised; see transcripts.py).

After a deliberate change of wording, regenerate them: `python -m tests.docs.transcripts`."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.support import GUIDE_ADMIN, GUIDE_SUPPORT
from tests.docs.transcripts import GUIDES, REPOSITORY, Guide, normalise, replay, typed


@pytest.fixture(params=GUIDES, ids=lambda path: path.name)
def guide(request: pytest.FixtureRequest) -> Guide:
    return Guide.read(request.param)


def test_every_transcript_is_what_the_bot_answers(guide: Guide, tmp_path: Path) -> None:
    problems = replay(guide, tmp_path).problems()
    assert not problems, "\n\n".join(problems) + "\n\n(regenerate: python -m tests.docs.transcripts)"


def test_each_guide_shows_the_bot_at_work(guide: Guide) -> None:
    demo = guide.of("demo")
    assert len(demo) >= 10, "a guide's transcripts were not found (is each one after its <!-- demo --> comment?)"
    for block in demo + guide.of("cli"):
        assert block.inputs, f"line {block.first + 1}: a transcript without a typed line"
        answers = [line for line in block.lines if line.strip() and not line.startswith(("$ ", *PROMPTS))]
        assert answers, f"line {block.first + 1}: a transcript without the bot's answer"


PROMPTS = ("pemohon> ", "admin> ", "petugas")


def test_a_changed_answer_is_caught(tmp_path: Path) -> None:
    """The check can fail: one word of one answer changed in a copy of the guide is reported, with its line."""
    source = GUIDES[1].read_text(encoding="utf-8")
    wrong = source.replace("Kunci penghubungan akun:2 dibuka.", "Kunci penghubungan akun:2 sudah dibuka.", 1)
    assert wrong != source
    copy = tmp_path / "panduan-petugas.md"
    copy.write_text(wrong, encoding="utf-8")
    (tmp_path / "run").mkdir()
    problems = replay(Guide.read(copy), tmp_path / "run").problems()
    assert len(problems) == 1 and "sudah dibuka" in problems[0]


def test_what_varies_between_runs_is_normalised() -> None:
    assert normalise("Diumumkan 7 Oktober 2026, 13.23 WIB") == normalise("Diumumkan 29 November 2027, 09.05 WIB")
    assert normalise("paling lambat Senin, 7 Desember 2026, 12.00 WIB") == normalise(
        "paling lambat 8 Desember 2026, 09.00 WIB")
    assert normalise("Saat ini di luar jam layanan. Petugas akan membalas") == "Petugas akan membalas"
    assert normalise("Gelombang 4: 1 akun (1 lolos)") == "Gelombang 4: 1 akun (1 lolos)"  # counts are not dates


def test_a_typed_date_that_has_passed_becomes_tomorrow() -> None:
    from datetime import UTC, datetime

    today = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
    assert typed("admin> 15-12-2026 17:00", today) == "admin> 02-03-2027 17:00"
    assert typed("15-12-2027 17:00", today) == "15-12-2027 17:00"


def test_the_guides_the_help_names_are_these() -> None:
    """/bantuan names the guides by their place in the repository (handlers/support.py)."""
    assert [REPOSITORY / GUIDE_ADMIN, REPOSITORY / GUIDE_SUPPORT] == list(GUIDES)
    assert all(path.is_file() for path in GUIDES)
