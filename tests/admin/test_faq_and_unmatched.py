"""Free text for admins (issue 13, points 3 and 7): the FAQ replaced by an upload (/impor_faq) or the CLI, all or
nothing, every problem named with its line and column; messages not understood counted per day, masked, and shown
to admins (/tak_dipahami, `python -m bot admin unmatched`), never to anyone else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.demo import DEMO_PEPPER
from bot.settings import load_settings
from handlers.faq import StoredFaq, check_faq
from handlers.understanding import DataError, shipped
from handlers.understanding.faq import shipped_text
from tests.admin.test_admin_chat import files, upload  # noqa: F401  (the `files` fixture: uploads on the fake API)
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi
from tests.cli.conftest import run  # noqa: F401  (python -m bot ... in this process)

OLD_ANSWER = "Pelatihan yang sudah dibeli tidak bisa diganti"
NEW_ANSWER = "Versi baru dari admin: pelatihan yang sudah dibeli tidak bisa diganti"
NEW_FAQ = shipped_text().replace(OLD_ANSWER, NEW_ANSWER, 1).encode()
BAD_FAQ = (shipped_text().replace(OLD_ANSWER, NEW_ANSWER, 1)
           .replace('url = "https://www.prakerja.go.id/" }]', 'url = "http://prakerja.info/" }]', 1)  # line 49
           .replace('id = "register"', 'id = "about"', 1)  # line 61: a duplicate id
           .replace("checked = 2026-12-06\noffers = [\"panduan\"]", "checked = 06-12-2026\noffers = [\"panduan\"]", 1)
           ).encode()
NIK = "3171234507900001"  # generated, not a person's


@pytest.mark.parametrize("app", ["sqlite", "postgres"], indirect=True)
async def test_an_uploaded_faq_changes_the_answer_at_once_and_a_bad_one_changes_nothing(
        app: App, admin: ChatDriver, chat: ChatDriver, files: FakeBotApi) -> None:  # noqa: F811
    await chat.text("refund pelatihan")
    assert OLD_ANSWER in chat.text_out

    files.add_file("bad", BAD_FAQ, "faq.toml")
    await admin.command("impor_faq")
    await upload(admin, "bad", "faq.toml", len(BAD_FAQ), "application/octet-stream")
    said = admin.text_out
    assert "FAQ tidak diganti" in said
    # TOML's own check comes first: a date written 06-12-2026 is not TOML, so only it is named (line and column).
    assert "baris 203, kolom 12: Penulisan TOML salah" in said, said
    await chat.text("refund pelatihan")
    assert OLD_ANSWER in chat.text_out and NEW_ANSWER not in chat.text_out
    assert await app.storage.faq.current() is None

    fixed = BAD_FAQ.replace(b"checked = 06-12-2026", b"checked = 2026-12-06")
    files.add_file("fixed", fixed, "faq.toml")
    await upload(admin, "fixed", "faq.toml", len(fixed), "application/octet-stream")  # still asked for a file
    said = admin.text_out
    assert "baris 49, kolom 49: [about] text.id.links[0].url: Alamat harus diawali https://" in said, said
    assert "baris 61, kolom 6: [about] id: id “about” sudah dipakai entri di baris 27" in said, said
    assert await app.storage.faq.current() is None

    files.add_file("good", NEW_FAQ, "faq.toml")
    await upload(admin, "good", "faq.toml", len(NEW_FAQ), "application/octet-stream")
    assert "FAQ diganti</b>: 16 pertanyaan umum" in admin.text_out
    await chat.text("refund pelatihan")
    assert NEW_ANSWER in chat.text_out
    # Stored: a process started after the import (or another one beside it) answers with it too.
    assert NEW_ANSWER in (await StoredFaq(app.storage).book()).entries["refund"].text("id").answer
    assert [e.action for e in await app.storage.audit.recent()][:3] == [
        "faq_import", "faq_import_refused", "faq_import_refused"]


async def test_a_file_that_is_not_an_faq_is_refused_with_a_reason(admin: ChatDriver, files: FakeBotApi  # noqa: F811
                                                                   ) -> None:
    await admin.command("impor_faq")
    await upload(admin, "x", "data.csv", 10, "text/csv")
    assert "bukan berkas FAQ" in admin.text_out
    await admin.text("ini bukan berkas")
    assert "Saya menunggu berkas FAQ" in admin.text_out
    files.add_file("utf16", "pertanyaan".encode("utf-16"), "faq.toml")
    await upload(admin, "utf16", "faq.toml", 22, "application/octet-stream")
    assert "Bukan teks UTF-8" in admin.text_out


def test_a_question_the_bot_reads_as_another_capability_is_refused_before_anything_changes() -> None:
    text = shipped_text().replace('"kirim ulang otp",', '"kirim ulang otp",\n  "saldo saya berapa",', 1)
    with pytest.raises(DataError) as caught:
        check_faq(shipped(), text, datetime.now(UTC))
    line = next(n for n, written in enumerate(text.splitlines(), 1) if "saldo saya berapa" in written)
    assert caught.value.lines() == [f"faq.toml, baris {line}, kolom 3: [otp] text.id.questions[6]: “saldo saya"
                                    " berapa” terbaca sama dengan “saldo saya berapa” (balance): satu kalimat tidak"
                                    " bisa berarti dua hal."]


async def test_an_applicant_cannot_import_an_faq(app: App, chat: ChatDriver) -> None:
    await chat.command("impor_faq")
    assert "belum mengerti" in chat.text_out and "FAQ" not in chat.text_out


@pytest.mark.parametrize("app", ["sqlite", "postgres"], indirect=True)
async def test_messages_not_understood_are_counted_masked_and_shown_to_admins_only(
        app: App, admin: ChatDriver, chat: ChatDriver, support: ChatDriver) -> None:
    for text in (f"tolong transfer ke NIK {NIK} ya qwerty", f"Tolong transfer ke NIK {NIK}  ya qwerty!",
                 "resep rendang padang", "hubungi 081234567890 zxcvb"):
        await chat.text(text)
        assert "Saya bisa membantu soal Kartu Prakerja" in chat.text_out
    await chat.text("halo")  # understood: not counted
    rows = await app.storage.database.fetchall("SELECT text, count FROM unmatched ORDER BY text")
    assert [tuple(r) for r in rows] == [("hubungi 081****** zxcvb", 1), ("resep rendang padang", 1),
                                        ("tolong transfer ke nik [16 digit disamarkan] ya qwerty", 2)], rows
    assert NIK not in str([tuple(r) for r in await app.storage.database.fetchall("SELECT * FROM unmatched")])

    await admin.command("tak_dipahami")
    said = admin.text_out
    assert "7 hari terakhir" in said
    assert said.index("<b>2×</b> tolong transfer ke nik [16 digit disamarkan]") < said.index("resep rendang padang")
    assert NIK not in said and "081234567890" not in said
    await admin.press("30 hari")
    assert "30 hari terakhir" in admin.text_out and "resep rendang padang" in admin.text_out
    await admin.command("tak_dipahami", "seminggu")
    assert "Tulis jumlah hari dari 1 sampai 90" in admin.text_out

    for outsider in (chat, support):
        await outsider.command("tak_dipahami")
        assert "belum mengerti" in outsider.text_out and "resep" not in outsider.text_out
        await outsider.action("unmatched_days", "30")
        assert "resep" not in outsider.text_out


def test_the_cli_imports_the_faq_and_lists_what_was_not_understood(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    run) -> None:  # noqa: F811
    database = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(database))
    bad, good = tmp_path / "bad.toml", tmp_path / "faq.toml"
    bad.write_bytes(BAD_FAQ.replace(b"checked = 06-12-2026", b"checked = 2026-12-06"))
    good.write_bytes(NEW_FAQ)
    code, out, err = run("import-faq", bad)
    assert code == 1 and "FAQ tidak diganti" in err
    assert "baris 49, kolom 49: [about] text.id.links[0].url" in err and "baris 61, kolom 6: [about] id" in err
    code, out, err = run("import-faq", good)
    assert code == 0 and "FAQ diganti: 16 pertanyaan umum" in out, err

    async def ask() -> tuple[str, str]:
        settings = load_settings(database_path=database, nik_pepper=DEMO_PEPPER, admin_ids="9000001")
        bot = await open_app(settings, pepper=DEMO_PEPPER)
        try:
            applicant = ChatDriver(bot.router, user_id="1001")
            await applicant.text("refund pelatihan")
            await applicant.text(f"nik {NIK} resep rendang")
            return applicant.text_out, ""
        finally:
            await bot.close()

    answer, _ = asyncio.run(ask())
    assert "Saya bisa membantu" in answer
    code, out, err = run("admin", "unmatched", "--days", "3")
    assert code == 0 and "1× nik [16 digit disamarkan] resep rendang" in out and NIK not in out, out + err
    code, out, err = run("admin", "unmatched", "--days", "0")
    assert code == 1 and "Tulis jumlah hari dari 1 sampai 90" in err
