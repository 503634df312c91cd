"""/pelatihan: search the catalogue by keyword or category, within the balance, paged; detail and choose."""

from __future__ import annotations

import random

from bot.app import App
from bot.demo import DEMO_PEPPER, DemoApplicant, make_nik
from handlers.api import MAX_ACTION_BYTES, Button, LinkButton
from handlers.identity import hash_nik
from handlers.trainings import TRAINING_DETAIL, TRAINING_PAGE
from storage import ImportRow
from storage.models import WaveResult
from tests.auxil.driver import ChatDriver

CATALOGUE_SIZE = 70


def listed_ids(chat: ChatDriver) -> list[str]:
    return [b.arg for r in chat.replies for row in r.buttons for b in row
            if isinstance(b, Button) and b.action == TRAINING_DETAIL]


def payloads(chat: ChatDriver) -> list[str]:
    return [b.payload for r in chat.replies for row in r.buttons for b in row if isinstance(b, Button)]


async def walk_all_pages(chat: ChatDriver) -> list[str]:
    """Press 'Berikutnya' until it is gone; every training id listed on the way."""
    ids = listed_ids(chat)
    while "Berikutnya ▶" in chat.labels:
        await chat.press("Berikutnya")
        ids += listed_ids(chat)
    return ids


async def link_lolos(app: App, chat: ChatDriver, balance: int) -> None:
    """Import a lolos applicant with the given balance and link this chat to them."""
    nik = make_nik(random.Random(balance), female=False)
    phone = "+6281100000077"
    await app.storage.accounts.import_rows(
        [ImportRow(hash_nik(nik, DEMO_PEPPER), phone, "Rina Kusuma", 1, WaveResult.LOLOS, "5000000000000077", balance)]
    )
    await chat.link(phone, nik)
    assert "Berhasil" in chat.text_out


async def test_paging_shows_different_items_and_stops_at_the_end(chat: ChatDriver) -> None:
    await chat.command("pelatihan")
    assert "Harga belum disaring" in chat.text_out  # not linked: prices not filtered
    await chat.press("Semua pelatihan")
    first = listed_ids(chat)
    assert len(first) == 5 and "1–5 dari 70" in chat.text_out
    assert "◀ Sebelumnya" not in chat.labels
    ids = await walk_all_pages(chat)
    assert len(ids) == CATALOGUE_SIZE == len(set(ids))  # every training once, no page repeated
    assert "66–70 dari 70" in chat.text_out and "Berikutnya ▶" not in chat.labels
    await chat.press("Sebelumnya")
    assert "61–65 dari 70" in chat.text_out and chat.replies[0].replace


async def test_linked_lolos_applicant_sees_everything_her_balance_pays(
    chat: ChatDriver, people: list[DemoApplicant]
) -> None:
    siti = people[0]
    await chat.link(siti.phone, siti.nik)
    await chat.command("pelatihan", "kuliner")
    assert "sisa saldo Anda: <b>Rp3.550.000</b>" in chat.text_out
    assert "1–5 dari 6" in chat.text_out  # every Kuliner training: all of them cost at most Rp1.000.000
    assert len(await walk_all_pages(chat)) == 6


async def test_smaller_balance_shows_only_what_it_pays(app: App, chat: ChatDriver) -> None:
    await link_lolos(app, chat, 300_000)
    await chat.command("pelatihan")
    await chat.press("Semua pelatihan")
    assert "Rp300.000" in chat.text_out
    ids = await walk_all_pages(chat)
    prices = [(await app.storage.catalogue.training(i)).price for i in ids]  # type: ignore[union-attr]
    everything, _ = await app.storage.catalogue.search_trainings([], None, 0, 1000)
    assert sorted(ids) == sorted(t.id for t in everything if t.price <= 300_000)
    assert prices and max(prices) <= 300_000 and prices == sorted(prices)  # cheapest first


async def test_nothing_within_the_balance_says_how_many_cost_more(app: App, chat: ChatDriver) -> None:
    await link_lolos(app, chat, 300_000)
    await chat.command("pelatihan", "barista")
    assert "Tidak ada pelatihan yang cocok" in chat.text_out
    assert "1 pelatihan cocok, tetapi harganya melebihi sisa saldo Anda (Rp300.000)" in chat.text_out


async def test_keyword_pages_keep_the_keyword(chat: ChatDriver) -> None:
    await chat.command("pelatihan", "Bahasa")
    first = listed_ids(chat)
    assert "Hasil pencarian “bahasa”" in chat.text_out and "1–5 dari" in chat.text_out
    await chat.press("Berikutnya")
    second = listed_ids(chat)
    assert second and not set(first) & set(second)
    assert "Hasil pencarian “bahasa”" in chat.text_out


async def test_typed_after_the_button_and_filler_words_ignored(chat: ChatDriver) -> None:
    await chat.command("menu")
    await chat.press("Cari pelatihan")
    await chat.text("kursus excel")
    assert "Microsoft Excel untuk Administrasi Kantor" in chat.text_out
    assert "Pijar Mahir · Rp500.000 · 10 jam" in chat.text_out and "1 pelatihan ditemukan" in chat.text_out


async def test_nothing_found_suggests_categories_and_waits_for_another_word(chat: ChatDriver) -> None:
    await chat.command("pelatihan", "astronomi")
    assert "Tidak ada pelatihan yang cocok" in chat.text_out
    assert {"Kuliner", "Teknologi", "Bahasa"} <= set(chat.labels)
    await chat.text("barista")
    assert "Menjadi Barista Profesional" in chat.text_out


async def test_empty_and_too_long_keywords_get_a_clear_message(chat: ChatDriver) -> None:
    await chat.command("pelatihan")
    await chat.text("   ")
    assert "kosong" in chat.text_out
    await chat.text("a" * 51)
    assert "terlalu panjang" in chat.text_out and "50" in chat.text_out
    await chat.text("a" * 50)
    assert "Tidak ada pelatihan yang cocok" in chat.text_out


async def test_non_ascii_keyword_fits_the_button_limit(chat: ChatDriver) -> None:
    await chat.command("pelatihan", "kue " + "é" * 40)  # 44 characters, 84 bytes
    assert "kesalahan" not in chat.text_out
    assert all(len(p.encode()) <= MAX_ACTION_BYTES for p in payloads(chat))
    await chat.command("pelatihan", "🍰" * 50)
    assert "Tidak ada pelatihan yang cocok" in chat.text_out
    assert all(len(p.encode()) <= MAX_ACTION_BYTES for p in payloads(chat))


async def test_detail_and_choose_mark_the_guide(chat: ChatDriver, people: list[DemoApplicant]) -> None:
    siti = people[0]
    await chat.link(siti.phone, siti.nik)
    await chat.command("pelatihan", "barista")
    await chat.press("1. Menjadi Barista")
    assert "Rp850.000" in chat.text_out and "Tokopedia" in chat.text_out and "15 jam" in chat.text_out
    assert "cukup untuk pelatihan ini" in chat.text_out
    links = [b for r in chat.replies for row in r.buttons for b in row if isinstance(b, LinkButton)]
    assert links and links[0].url.startswith("https://www.tokopedia.com/")
    await chat.press("Pilih pelatihan ini")
    assert "belum dicatat" in chat.text_out and "langkah 2" in chat.text_out  # the guide goes in order (issue 13)
    await chat.command("platform")
    await chat.command("video")
    await chat.press("Sudah saya tonton")
    await chat.command("pelatihan", "barista")
    await chat.press("1. Menjadi Barista")
    await chat.press("Pilih pelatihan ini")
    assert "dicatat" in chat.text_out and "Menjadi Barista Profesional" in chat.text_out
    await chat.command("panduan")
    assert "✅ 4." in chat.text_out


async def test_a_training_over_the_balance_cannot_be_chosen(app: App, chat: ChatDriver) -> None:
    await link_lolos(app, chat, 300_000)
    await chat.action(TRAINING_DETAIL, "T002")  # the barista course, Rp850.000
    assert "melebihi sisa saldo" in chat.text_out and "Pilih pelatihan ini" not in " ".join(chat.labels)
    await chat.action("trc", "T002")  # forged choose
    assert "melebihi sisa saldo" in chat.text_out
    await chat.command("panduan")
    assert "⬜ 4." in chat.text_out


async def test_forged_or_stale_buttons_get_a_clear_answer(chat: ChatDriver) -> None:
    for arg in ("abc", "0:x", "0:k", "0:c999", "0:p99", "1" * 5000, "0:c" + "1" * 5000):
        await chat.action(TRAINING_PAGE, arg)
        assert chat.replies and "kesalahan" not in chat.text_out, arg
    await chat.action(TRAINING_PAGE, "99999:a")  # past the end: the last page
    assert "66–70 dari 70" in chat.text_out
    await chat.action(TRAINING_DETAIL, "T999")
    assert "tidak ada lagi" in chat.text_out
