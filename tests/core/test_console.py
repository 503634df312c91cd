"""The terminal demo, as a newcomer runs it: `python -m bot chat --demo` with a script piped in."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.demo import showcase


def run_demo(script: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NIK_", "DATABASE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--demo"],
        input=script, capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_piped_demo_links_and_shows_result_and_card() -> None:
    siti = showcase()[0]
    out = run_demo(f"/kontak\n{siti.nik}\nHasil seleksi\n/kartu\n")
    assert "Pemohon demo" in out and siti.phone in out  # the demo lists who to try
    assert "Berhasil" in out
    assert "Gelombang 1: Lolos" in out
    assert "Rp3.550.000" in out


def test_piped_demo_buttons_by_number_and_label() -> None:
    out = run_demo("1\n/menu\nPengaturan\nBahasa / Language\n")
    assert "Bagikan nomor HP saya" in out  # "1" pressed "Hubungkan akun"
    assert "Pilih bahasa" in out


def test_piped_demo_understands_free_text_and_answers_once_linked() -> None:
    siti = showcase()[0]
    out = run_demo(f"halo\nsaldo sy brp\nHubungkan akun\n/kontak\n{siti.nik}\nkapan pencairan insentif?\n"
                   "ada kursus menjahit?\nresep nasi goreng\n")
    assert "Berhasil" in out and "Saldo pelatihan: Rp3.550.000" in out  # asked before linking, answered after
    assert "Rp600.000" in out and "Hasil pencarian “menjahit”" in out
    assert "Saya bisa membantu soal Kartu Prakerja" in out


def test_piped_demo_a_typed_number_is_the_training_with_that_number() -> None:
    out = run_demo("cari pelatihan\nSemua pelatihan\nBerikutnya ▶\n7\n")
    page_two = out.rsplit("Pelatihan 6–10", 1)[1]
    seventh = next(line for line in page_two.splitlines() if line.startswith("7. "))
    detail = out.rsplit("> 7", 1)[1]
    assert seventh.removeprefix("7. ") in detail and "Harga" in detail
