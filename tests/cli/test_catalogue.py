"""`python -m bot import-catalogue`: only https links on the platform's own domains, the rule /ceklink applies;
every problem listed with its line and column, in Indonesian; all or nothing (issue 12.4)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.catalogue import _seed_text
from storage import open_storage

Run = Callable[..., tuple[int, str, str]]
HEADER = "id,platform,title,category,price,hours,url\n"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    return path



def trainings_in(database: Path) -> dict[str, str]:
    async def read() -> dict[str, str]:
        storage = await open_storage(database)
        try:
            found, _ = await storage.catalogue.search_trainings([], None, 0, 1000)
            return {t.id: t.url for t in found}
        finally:
            await storage.close()

    return asyncio.run(read())


def test_a_link_off_the_platform_is_refused_with_every_problem(database: Path, tmp_path: Path,
                                                              run: Run) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "K1,tokopedia,Barista,Kuliner,500000,10,https://www.tokopedia.com/prakerja/k1\n")
    assert run("import-catalogue", good)[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n".join([
        "K1,tokopedia,Barista,Kuliner,500000,10,https://www.tokopedia.com/prakerja/k1",
        "K2,tokopedia,Pemasaran,Pemasaran,650000,12,http://evil.example/",  # the row of the issue
        "K3,tokopedia,Excel,Perkantoran,400000,8,http://www.tokopedia.com/excel",  # official, but no https
        "K4,tokopedia,Desain,Desain,300000,6,https://www.tokopedia.com.evil.example/x",  # a look-alike host
        "K5,tokopedia,Akuntansi,Keuangan,450000,9,https://tokopedia.com@evil.example/x",  # a disguised host
        "K6,bukalapak,Menjahit,Kriya,350000,seribu,https://pijarmahir.id/menjahit",  # another platform's site
        "K1,nope,,Kuliner,-5,,https://example.com",
    ]) + "\n")
    code, _, err = run("import-catalogue", bad)
    assert code == 1
    assert err.splitlines()[1:] == [
        "  baris 3, kolom url: Link harus diawali https:// (sambungan aman).",
        "  baris 4, kolom url: Link harus diawali https:// (sambungan aman).",
        "  baris 5, kolom url: Link harus menuju situs resmi Tokopedia (tokopedia.com), bukan"
        " www.tokopedia.com.evil.example.",
        "  baris 6, kolom url: Link harus menuju situs resmi Tokopedia (tokopedia.com), bukan evil.example.",
        "  baris 7, kolom hours: Durasi dalam jam bulat, dari 0 sampai 1000, atau kosong.",
        "  baris 7, kolom url: Link harus menuju situs resmi Bukalapak (bukalapak.com), bukan pijarmahir.id.",
        "  baris 8, kolom id: Kode pelatihan yang sama sudah ada di baris 2.",
        "  baris 8, kolom platform: Platform “nope” tidak ada di daftar platform. Yang ada: bukalapak,"
        " maubelajarapa, pintaria, pijarmahir, sisnaker, sekolahmu, tokopedia.",
        "  baris 8, kolom title: Wajib diisi.",
        "  baris 8, kolom price: Harga dalam rupiah bulat, angka saja, dari 0 sampai 10000000 (mis. 650000).",
    ]
    assert trainings_in(database) == {"K1": "https://www.tokopedia.com/prakerja/k1"}  # nothing changed


def test_platform_links_follow_the_same_rule(database: Path, tmp_path: Path,
                                             run: Run) -> None:
    platforms = tmp_path / "platforms.json"
    platforms.write_text(_seed_text("platforms.json").replace('"https://www.tokopedia.com/', '"http://evil.example/'))
    trainings = tmp_path / "t.csv"
    trainings.write_text(HEADER)
    code, _, err = run("import-catalogue", trainings, "--platforms", platforms)
    assert code == 1
    (problem,) = err.splitlines()[1:]
    assert problem.startswith("  baris ") and ", kolom url: Link harus diawali https://" in problem
    line = int(problem.split()[1].rstrip(","))
    assert '"id": "tokopedia"' in platforms.read_text().splitlines()[line]  # the line where Tokopedia starts
