"""The terminal demo, as a newcomer runs it: `python -m bot chat --demo` with a script piped in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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


def demo_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NIK_", "DATABASE_"))}
    return {**env, "TMPDIR": str(tmp)}


def test_the_demo_leaves_no_folder_behind(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "chat", "--demo"], input="/kartu\n", capture_output=True,
                          text=True, timeout=60, env=demo_env(tmp_path), check=False)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # the temporary database went with it (issue 12.6)


def test_ctrl_c_ends_the_demo_at_once(tmp_path: Path) -> None:
    """Ctrl+C while the demo waits for a line (the terminal stays open): it ends now, not at the next Enter."""
    demo = subprocess.Popen([sys.executable, "-m", "bot", "chat", "--demo"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=demo_env(tmp_path))
    watchdog = threading.Timer(60, demo.kill)  # whatever happens, the test ends
    watchdog.start()
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the demo is ready when its menu is shown
            if "Pilih yang Anda perlukan" in line:
                break
        time.sleep(1.0)  # the menu printed: now it waits for a line
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=10) == 130
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
        assert demo.stdin is not None
        demo.stdin.close()
    assert "Traceback" not in (demo.stderr.read() if demo.stderr else "")
    assert list(tmp_path.iterdir()) == []


def test_hand_off_to_a_person_in_the_demo(tmp_path: Path) -> None:
    """The terminal plays the support desk too: the ticket reaches staff through the real desk worker, the staff
    answer and the rating question reach the applicant through the outbox (issue 12.6)."""
    siti = showcase()[0]
    out = run_demo(f"/kontak\n{siti.nik}\n/petugas\nKartu saya belum aktif\n/sebagai petugas\n"
                   "Baik, kami periksa hari ini\n/selesai\n/sebagai pemohon\n5\n")
    assert "tiket #1" in out
    desk = out[out.index("[grup petugas"):]
    assert "Tiket #1" in desk and "Kartu saya belum aktif" in desk and siti.name in desk  # the staff's view
    answer = out.index("Petugas Prakerja (tiket #1):\nBaik, kami periksa hari ini")
    assert out.index("Tiket #1 sudah ditutup oleh petugas", answer) > answer
    assert "Terima kasih atas penilaian Anda!" in out  # "5" pressed the rating button the outbox delivered
    assert "Pemohon memberi nilai 5/5" in out  # and staff saw it in the topic
    assert "belum tersedia" not in out


def test_admin_commands_in_the_demo() -> None:
    out = run_demo("/admin\n/gelombang\n/umumkan 1\n/sebagai pemohon\n/kartu\n")
    assert "Sekarang Anda admin" in out
    assert "Gelombang 4: 1 akun" in out  # /gelombang answered: the demo user is an admin here
    assert "Anda tidak punya akses" not in out
    assert "pemohon> /kartu" in out


def test_the_demo_with_no_input_at_all(tmp_path: Path) -> None:
    """stdin from /dev/null (a service, `nohup`, CI): epoll refuses to watch it; the demo reads it directly and ends
    at once instead of stopping with "Operation not permitted"."""
    done = subprocess.run([sys.executable, "-m", "bot", "chat", "--demo"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, env=demo_env(tmp_path), check=False)
    assert done.returncode == 0, done.stderr
    assert "Pilih yang Anda perlukan" in done.stdout and done.stderr == ""
