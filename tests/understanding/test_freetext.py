"""Free text answered for the person who asks (issue 13), through the real router on a real SQLite file.

The channel tests (tests/telegram, tests/whatsapp, tests/core/test_console.py) run the same paths on each platform.
"""

from __future__ import annotations

from bot.app import App
from bot.demo import DemoApplicant
from handlers.context import NotUnderstood
from handlers.guide import TRAINING_BOUGHT, VIDEO_WATCHED
from handlers.understanding import FaqBook, load_faq
from handlers.understanding.faq import shipped_text
from tests.auxil.driver import ChatDriver

NOT_UNDERSTOOD = "Saya bisa membantu soal Kartu Prakerja"


async def test_personal_data_asked_unlinked_is_answered_once_linked_without_asking_again(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    await chat.text("min saldo sy brp ya")
    assert "belum terhubung" in chat.text_out and "Rp" not in chat.text_out
    await chat.press("Hubungkan akun")
    await chat.contact(siti.phone)
    await chat.text(siti.nik)
    assert "Berhasil" in chat.text_out and "Saldo pelatihan: <b>Rp3.550.000</b>" in chat.text_out


async def test_the_pending_question_survives_a_restart_of_the_flow_and_a_forged_one_runs_nothing(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    await chat.text("udh diumumin blm hasilnya")
    await chat.press("Hubungkan akun")
    await chat.contact(siti.phone)
    await chat.text(siti.nik)
    assert "Gelombang 1: Lolos" in chat.text_out
    await chat.command("putuskan")
    await chat.press("Ya, putuskan")
    await chat.action("link_for", "umumkan")  # a forged argument: linking, and nothing else, afterwards
    await chat.contact(siti.phone)
    await chat.text(siti.nik)
    assert "Berhasil" in chat.text_out and "Gelombang" not in chat.text_out and "Hasil seleksi" in chat.labels


async def test_a_lolos_applicant_is_not_offered_the_eligibility_check(chat: ChatDriver, people: list[DemoApplicant]
                                                                     ) -> None:
    await chat.link(people[0].phone, people[0].nik)
    assert "Cek syarat peserta" not in chat.labels  # the menu after linking
    await chat.command("hasil")
    assert "Cek syarat peserta" not in chat.labels and "Panduan pelatihan" in chat.labels
    await chat.text("syarat ikut prakerja apa aja")
    assert "sudah lolos" in chat.text_out and "Panduan pelatihan" in chat.labels
    await chat.text("apa itu kartu prakerja")
    assert "Kartu Prakerja adalah program" in chat.text_out and "Cek syarat peserta" not in chat.labels


async def test_a_tidak_lolos_applicant_is_offered_registering_again_and_the_eligibility_check(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await chat.link(people[1].phone, people[1].nik)
    assert "Cek syarat peserta" in chat.labels
    await chat.command("hasil")
    assert "Tidak Lolos" in chat.text_out and {"Daftar lagi", "Cek syarat peserta"} <= set(chat.labels)
    await chat.press("Daftar lagi")
    assert "Gabung Gelombang" in chat.text_out
    await chat.text("halo")
    assert "Belum lolos di gelombang terakhir" in chat.text_out and "Daftar lagi" in chat.labels


async def test_guide_steps_are_ticked_only_for_lolos_and_only_in_order(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await chat.link(people[1].phone, people[1].nik)  # Budi: tidak lolos
    await chat.command("video")
    assert "Sudah saya tonton" not in chat.labels
    await chat.action(VIDEO_WATCHED)  # a button from an older message, or forged
    assert "sudah lolos seleksi" in chat.text_out
    await chat.command("panduan")
    assert "0 dari 5" in chat.text_out and "⬜ 1." in chat.text_out  # step 1 is not ticked for him
    await chat.command("putuskan")
    await chat.press("Ya, putuskan")
    await chat.link(people[0].phone, people[0].nik)  # Siti: lolos, step 1 done
    await chat.action(TRAINING_BOUGHT)
    assert "selesaikan dulu langkah 2" in chat.text_out
    await chat.action(VIDEO_WATCHED)
    assert "selesaikan dulu langkah 2" in chat.text_out
    await chat.command("panduan")
    assert "1 dari 5" in chat.text_out and "Sudah beli pelatihan" not in chat.labels


async def test_a_typed_number_is_the_number_on_screen(chat: ChatDriver) -> None:
    await chat.text("cari pelatihan")
    await chat.press("Semua pelatihan")
    await chat.press("Berikutnya")
    seventh = next(label for label in chat.labels if label.startswith("7. "))
    eighth = next(label for label in chat.labels if label.startswith("8. "))
    await chat.text("7")
    assert f"<b>{seventh.removeprefix('7. ').rstrip('…')}" in chat.text_out and "Harga" in chat.text_out
    await chat.text("yg nomor 8 kak")  # words around the number, as people type it
    assert f"<b>{eighth.removeprefix('8. ').rstrip('…')}" in chat.text_out and "Harga" in chat.text_out
    await chat.text("3")  # not on screen: said so, with the way to search again
    assert "Nomor 3 tidak ada di daftar" in chat.text_out and "Cari pelatihan" in chat.labels


async def test_escape_words_and_menu_labels_leave_any_step(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    await chat.command("hubungkan")
    await chat.contact(people[0].phone)
    await chat.text("Kembali!")
    assert "Pilih yang Anda perlukan" in chat.text_out
    await chat.command("syarat")
    await chat.text("cancel")
    assert "Pilih yang Anda perlukan" in chat.text_out
    await chat.command("pelatihan")
    await chat.text("Kartu & saldo")  # a menu label typed from an earlier message, not a keyword to search
    assert "belum terhubung" in chat.text_out and "Hasil pencarian" not in chat.text_out
    await chat.text("Compare platforms")  # in English too
    assert "Bandingkan 7 platform" in chat.text_out


async def test_small_talk_gets_a_person_s_answer(chat: ChatDriver) -> None:
    await chat.text("P")
    assert "Asisten Prakerja" in chat.text_out and "Hubungkan akun" in chat.labels
    await chat.text("Assalamu'alaikum kak")
    assert chat.text_out.startswith("Wa'alaikumsalam")
    for thanks in ("makasih min", "terima kasih ya kak"):
        await chat.text(thanks)
        assert "Sama-sama" in chat.text_out
    for ack in ("ok", "sip", "👍", "🙏🙏"):
        await chat.text(ack)
        assert "Siap" in chat.text_out and "mengerti" not in chat.text_out, ack


async def test_out_of_scope_gets_what_the_bot_can_do_and_never_personal_data(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    await chat.link(people[0].phone, people[0].nik)
    for text in ("resep nasi goreng", "pinjaman online cepat cair tanpa jaminan", "jual pulsa murah",
                 "saldo gopay saya hilang", "cuaca besok hujan gak", "qwertyuiop"):
        await chat.text(text)
        assert NOT_UNDERSTOOD in chat.text_out, text
        assert "Rp3.550.000" not in chat.text_out and "5123" not in chat.text_out, text
        assert 2 <= len(chat.labels) <= 5 and chat.labels[-1] == "Menu", chat.labels


async def test_an_ambiguous_message_asks_one_question_with_buttons(chat: ChatDriver) -> None:
    await chat.text("kartu saya hilang")
    assert chat.text_out == "Maksud Anda yang mana?"
    assert {"Ganti nomor HP", "Kartu & saldo"} <= set(chat.labels) and chat.labels[-1] == "Menu"
    await chat.press("Ganti nomor HP")
    assert "Ubah Nomor Handphone" in chat.text_out


async def test_capabilities_by_free_text_with_the_words_typed(chat: ChatDriver) -> None:
    await chat.text("ada kursus menjahit?")
    assert "Hasil pencarian “menjahit”" in chat.text_out
    await chat.text("Barista?")  # a training's name on its own: found in the catalogue
    assert "Hasil pencarian “barista”" in chat.text_out
    await chat.text("english please")
    assert "Link account" in chat.labels
    await chat.text("ganti bahasa indonesia")
    assert "Hubungkan akun" in chat.labels
    await chat.text("stop kirim pengumuman")
    assert "tidak akan menerima pengumuman" in chat.text_out
    await chat.text("aktifkan notifikasi lagi")
    assert "Pengumuman diaktifkan lagi" in chat.text_out


async def test_the_next_wave_answer_reads_the_schedule_the_admins_set(chat: ChatDriver) -> None:
    await chat.text("kpn gelombang baru dibuka")
    assert "pengumuman hasil <b>gelombang 4</b>" in chat.text_out and "Gabung Gelombang" in chat.text_out


async def test_messages_not_understood_go_masked_to_the_observers(app: App, chat: ChatDriver) -> None:
    seen: list[NotUnderstood] = []

    async def observe(note: NotUnderstood) -> None:
        seen.append(note)

    async def broken(note: NotUnderstood) -> None:
        raise RuntimeError("counting is down")

    app.router.services.not_understood.extend([broken, observe])
    await chat.text("tolong transfer ke 081234567890 ya qwerty")
    await chat.text("halo")
    assert NOT_UNDERSTOOD not in chat.text_out
    assert [n.text for n in seen] == ["tolong transfer ke 081****** ya qwerty"]
    assert seen[0].channel == "console" and seen[0].locale == "id"


async def test_an_imported_faq_answers_through_the_same_source(app: App, chat: ChatDriver) -> None:
    book = load_faq(shipped_text().replace(
        "Pelatihan yang sudah dibeli tidak bisa diganti", "Versi impor admin: pelatihan yang sudah dibeli tidak bisa"
        " diganti", 1))

    class Imported:
        async def book(self) -> FaqBook:
            return book

        def forget(self) -> None:
            pass

    app.router.services.faq = Imported()
    await chat.text("refund pelatihan")
    assert "Versi impor admin" in chat.text_out
