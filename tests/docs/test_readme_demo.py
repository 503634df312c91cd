"""The README's walk through the demo works as written (issue 12): every command it offers for the terminal demo
(`/kontak`, the hand-off, the admin commands) is typed, in one session, and each gets its answer, not a request
for what is missing (the README offered `/cari 081100000001`, which only asks for a reason)."""

from __future__ import annotations

import re

from bot.demo import showcase
from tests.core.test_console import run_demo
from tests.docs.transcripts import PROMPT, REPOSITORY

ASKS_AGAIN = ("contoh:", "belum mengerti", "Tuliskan alasannya", "tidak dikenal", "Anda tidak punya akses",
              "belum tersedia")


def readme_demo_commands() -> list[str]:
    """The commands the README's "Two commands" section offers in the demo, a number `N` read as 1."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"`(/[a-z_]+(?: [^`]*)?)`", section)
    return [re.sub(r"\bN\b", "1", command) for command in commands]


def answers(out: str) -> dict[str, list[str]]:
    """What the demo printed after each typed line, by line."""
    found: dict[str, list[str]] = {}
    typed, lines = None, []
    for line in out.splitlines():
        match = PROMPT.match(line)
        if match:
            if typed is not None:
                found.setdefault(typed, []).append("\n".join(lines))
            typed, lines = match.group(1), []
        else:
            lines.append(line)
    if typed is not None:
        found.setdefault(typed, []).append("\n".join(lines))
    return found


def test_every_command_the_readme_offers_in_the_demo_is_answered() -> None:
    agus = showcase()[2]  # wave 4, announced by /umumkan 4: his result reaches his chat
    offered = [command for command in readme_demo_commands() if not command.startswith("/berkas")]  # a file
    assert len(offered) >= 15, offered
    admin = ["/sebagai admin", "/gelombang", "/umumkan 4", "Ya, umumkan", "/siaran", "Pelatihan baru minggu ini",
             "Kirim sekarang", "Ya, kirim", "/siaran_status", "/tiket", "/cari 081100000001 pemohon menelepon",
             "/audit", "/peran"]
    applicant_and_desk = [
        "/kontak", "/kontak +6281100000002", f"/kontak {agus.phone}", agus.nik,
        "/petugas", "Kartu saya belum aktif", "/sebagai petugas", "/topik 1", "Baik, kami periksa hari ini",
        "/selesai", "/sebagai pemohon", "5",
    ]
    added = [command for command in offered if command not in applicant_and_desk + admin]  # typed by the admin
    session = [*applicant_and_desk, *admin, *added, "/sebagai pemohon", "/admin", "/sebagai pemohon"]
    out = run_demo("\n".join(session) + "\n")
    replies = answers(out)
    for command in offered:
        for reply in replies[command]:
            assert reply.strip(), f"{command}: no answer"
            assert not any(words in reply for words in ASKS_AGAIN), f"{command} answered:\n{reply}"
    assert "Petugas Prakerja (tiket #1):\nBaik, kami periksa hari ini" in out  # the hand-off reached the applicant
    results = out.index("admin> Ya, umumkan")
    assert "[pesan dari bot]" in out[results:] and "Gelombang 4: Lolos" in out[results:]  # and the announcement
    assert "Pelatihan baru minggu ini" in out[out.index("admin> Ya, kirim"):]  # and the broadcast


def test_a_command_that_asks_again_is_caught() -> None:
    out = "admin> /cari 081100000001\nTuliskan alasannya setelah nomor (dicatat di log audit)\n\nadmin> /audit\nLog\n"
    replies = answers(out)
    assert any(words in replies["/cari 081100000001"][0] for words in ASKS_AGAIN)
    assert replies["/audit"] == ["Log"]
