"""The training-platform catalogue: seeded from data files shipped in `storage/seed/`, replaceable by import.

`platforms.json` holds the seven platforms of the programme (texts per locale); `trainings.csv` the sample
training catalogue (`id,platform,title,category,price,hours,url`). `python -m bot import-catalogue` loads other
files with the same shape, all or nothing.

Every link an applicant is shown as "Buka di <platform>" must pass the same judgement `/ceklink` makes
(`handlers.scam.inspect`): an `https://` address on that platform's own domains. Any problem rejects both files;
every problem is listed with its line and column, in Indonesian, as the registry import does (`bot.importer`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from bot.importer import MAX_LISTED, ImportRejected, Problem
from bot.settings import Settings
from handlers.digits import parse_int
from handlers.i18n import N_, translator
from handlers.scam import Verdict, inspect
from storage import Storage, open_storage
from storage.models import Platform, Training

SEED_PACKAGE = "storage.seed"
TRAINING_COLUMNS = ("id", "platform", "title", "category", "price", "hours", "url")
PLATFORM_FIELDS = ("id", "name", "url", "domains", "texts")
PLATFORM_TEXTS = ("offer", "payment")
DEFAULT_LOCALE = "id"
MAX_TITLE, MAX_CATEGORY = 200, 60
MAX_PRICE = 10_000_000  # rupiah: more than any Prakerja balance
MAX_HOURS = 1000
_TRAINING_ID = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
_PLATFORM_ID = re.compile(r"[a-z0-9_]+", re.ASCII)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII)

_HEADER = N_("Baris pertama harus header persis seperti ini: {header}")
_REQUIRED = N_("Wajib diisi.")
_TOO_LONG = N_("Paling banyak {n} karakter.")
_FIELD_COUNT = N_("Ada {found} kolom, seharusnya {expected}.")
_BAD_CSV = N_("Format CSV rusak (periksa tanda kutip).")
_NOT_UTF8 = N_("Bukan teks UTF-8. Simpan file sebagai “CSV UTF-8”.")
_TRAINING_ID_BAD = N_("Kode pelatihan hanya huruf, angka, - dan _, paling banyak 32 karakter.")
_TRAINING_TWICE = N_("Kode pelatihan yang sama sudah ada di baris {other}.")
_PLATFORM_UNKNOWN = N_("Platform “{platform}” tidak ada di daftar platform. Yang ada: {known}.")
_PRICE_BAD = N_("Harga dalam rupiah bulat, angka saja, dari 0 sampai {max} (mis. 650000).")
_HOURS_BAD = N_("Durasi dalam jam bulat, dari 0 sampai {max}, atau kosong.")
_URL_NOT_HTTPS = N_("Link harus diawali https:// (sambungan aman).")
_URL_NOT_OFFICIAL = N_("Link harus menuju situs resmi {platform} ({domains}), bukan {host}.")
_URL_BAD = N_("Link tidak valid.")
_JSON_BAD = N_("JSON tidak valid di karakter ke-{column}.")
_JSON_LIST = N_("Isi file harus daftar platform dalam kurung siku [ … ].")
_JSON_OBJECT = N_("Setiap platform harus objek JSON {{ … }}.")
_PLATFORM_ID_BAD = N_("Kode platform hanya huruf kecil, angka, dan _.")
_PLATFORM_TWICE = N_("Kode platform yang sama sudah ada di baris {other}.")
_DOMAINS_BAD = N_("Harus daftar nama domain, mis. [\"tokopedia.com\"].")
_DOMAIN_BAD = N_("“{domain}” bukan nama domain (huruf kecil, tanpa https:// dan tanpa garis miring).")
_TEXTS_BAD = N_("Harus objek bahasa -> teks, dengan bahasa Indonesia (\"id\"), mis. {{\"id\": {{\"offer\": …,"
                " \"payment\": …}}}}.")
_TEXT_BAD = N_("Harus teks yang tidak kosong.")
_FIELD_UNKNOWN = N_("Kolom tidak dikenal. Kolom platform: {fields}.")
_FILE_UNREADABLE = N_("File tidak dapat dibaca: {path} ({reason})")


class CatalogueRejected(ImportRejected):
    """The catalogue files were refused: nothing was changed. `file` names the file the problems are in."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        super().__init__(problems[:MAX_LISTED], len(problems))
        self.file = file


def official_link(url: str, platform: Platform | tuple[str, tuple[str, ...]]) -> Problem | None:
    """None when `url` is an https link on the platform's own domains (the /ceklink rule), else what is wrong
    (line and column are filled in by the caller)."""
    name, domains = (platform.name, platform.domains) if isinstance(platform, Platform) else platform
    if not url.lower().startswith("https://"):
        return Problem(0, None, _URL_NOT_HTTPS)
    finding = inspect(url, {domain.lower(): name for domain in domains})
    if finding.verdict is Verdict.OFFICIAL:
        return None
    if finding.verdict is Verdict.INVALID or not finding.host:
        return Problem(0, None, _URL_BAD)
    return Problem(0, None, _URL_NOT_OFFICIAL, (("platform", name), ("domains", ", ".join(domains)),
                                                 ("host", finding.host)))


def _at(problem: Problem, line: int, column: str) -> Problem:
    return Problem(line, column, problem.message, problem.params)


# --- platforms.json ------------------------------------------------------------------------------------------------

def _items_with_lines(text: str) -> list[tuple[int, Any]]:
    """The items of a JSON array, each with the line it starts on (json itself keeps no positions)."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        raise ValueError(position)
    position = _skip_space(text, position + 1)
    items: list[tuple[int, Any]] = []
    if text.startswith("]", position):
        return items
    while True:
        value, end = decoder.raw_decode(text, position)
        items.append((text.count("\n", 0, position) + 1, value))
        position = _skip_space(text, end)
        if text.startswith("]", position):
            return items
        if not text.startswith(",", position):
            raise json.JSONDecodeError("expected , or ]", text, position)
        position = _skip_space(text, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n\ufeff":
        position += 1
    return position


def parse_platforms(text: str) -> list[Platform]:
    """The platforms of a `platforms.json`; `CatalogueRejected` lists every problem (line: where the platform
    starts; column: the field)."""
    try:
        json.loads(text)
        items = _items_with_lines(text)
    except json.JSONDecodeError as exc:
        raise CatalogueRejected("platforms", [Problem(exc.lineno, None, _JSON_BAD, (("column", exc.colno),))]) from None
    except ValueError:
        raise CatalogueRejected("platforms", [Problem(1, None, _JSON_LIST)]) from None
    problems: list[Problem] = []
    platforms: list[Platform] = []
    lines: dict[str, int] = {}
    for line, item in items:
        if not isinstance(item, dict):
            problems.append(Problem(line, None, _JSON_OBJECT))
            continue
        found = len(problems)

        def problem(column: str, message: str, *params: tuple[str, object], line: int = line) -> None:
            problems.append(Problem(line, column, message, params))

        for key in item.keys() - set(PLATFORM_FIELDS):
            problem(key, _FIELD_UNKNOWN, ("fields", ", ".join(PLATFORM_FIELDS)))
        platform_id, name, url = item.get("id"), item.get("name"), item.get("url")
        if not isinstance(platform_id, str) or not _PLATFORM_ID.fullmatch(platform_id):
            problem("id", _REQUIRED if not platform_id else _PLATFORM_ID_BAD)
        elif platform_id in lines:
            problem("id", _PLATFORM_TWICE, ("other", lines[platform_id]))
        else:
            lines[platform_id] = line
        if not isinstance(name, str) or not name.strip():
            problem("name", _REQUIRED)
        domains = item.get("domains")
        if not isinstance(domains, list) or not domains or not all(isinstance(d, str) for d in domains):
            problem("domains", _DOMAINS_BAD)
            domains = []
        for domain in domains:
            if not _DOMAIN.fullmatch(domain):
                problem("domains", _DOMAIN_BAD, ("domain", domain))
        if not isinstance(url, str) or not url.strip():
            problem("url", _REQUIRED)
        elif domains and (wrong := official_link(url, (str(name or platform_id), tuple(domains)))) is not None:
            problems.append(_at(wrong, line, "url"))
        texts = item.get("texts")
        if not isinstance(texts, dict) or DEFAULT_LOCALE not in texts or not all(
                isinstance(v, dict) for v in texts.values()):
            problem("texts", _TEXTS_BAD)
            texts = {}
        for locale, fields in texts.items():
            for field in PLATFORM_TEXTS:
                value = fields.get(field)
                if not isinstance(value, str) or not value.strip():
                    problem(f"texts.{locale}.{field}", _TEXT_BAD)
        if len(problems) == found:
            assert isinstance(platform_id, str) and isinstance(name, str) and isinstance(url, str)  # checked above
            platforms.append(Platform(platform_id, name.strip(), len(platforms) + 1, url, tuple(domains),
                                      {loc: {f: fields[f] for f in PLATFORM_TEXTS} for loc, fields in texts.items()}))
    if problems:
        raise CatalogueRejected("platforms", problems)
    return platforms


# --- trainings.csv -------------------------------------------------------------------------------------------------

def parse_trainings(text: str, platforms: list[Platform]) -> list[Training]:
    """The trainings of a `trainings.csv` for `platforms`; `CatalogueRejected` lists every problem."""
    by_id = {p.id: p for p in platforms}
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    try:
        header = next(reader, [])
    except csv.Error:
        header = []
    if [h.strip().lower() for h in header] != list(TRAINING_COLUMNS):
        raise CatalogueRejected("trainings", [Problem(1, None, _HEADER, (("header", ",".join(TRAINING_COLUMNS)),))])
    problems: list[Problem] = []
    trainings: list[Training] = []
    seen: dict[str, int] = {}
    line = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append(Problem(line + 1, None, _BAD_CSV))
            line = reader.line_num
            continue
        line, row_line = reader.line_num, line + 1
        if not fields or fields == [""]:
            continue
        training = _training(row_line, fields, by_id, seen, problems)
        if training is not None:
            trainings.append(training)
    if problems:
        raise CatalogueRejected("trainings", problems)
    return trainings


def _training(line: int, fields: list[str], platforms: dict[str, Platform], seen: dict[str, int],
              problems: list[Problem]) -> Training | None:
    if len(fields) != len(TRAINING_COLUMNS):
        problems.append(Problem(line, None, _FIELD_COUNT, (("found", len(fields)),
                                                           ("expected", len(TRAINING_COLUMNS)))))
        return None
    found = len(problems)

    def problem(column: str, message: str, *params: tuple[str, object]) -> None:
        problems.append(Problem(line, column, message, params))

    training_id, platform_id, title, category, price_text, hours_text, url = (f.strip() for f in fields)
    if not training_id:
        problem("id", _REQUIRED)
    elif not _TRAINING_ID.fullmatch(training_id):
        problem("id", _TRAINING_ID_BAD)
    elif training_id in seen:
        problem("id", _TRAINING_TWICE, ("other", seen[training_id]))
    else:
        seen[training_id] = line
    platform = platforms.get(platform_id)
    if platform is None:
        problem("platform", _REQUIRED if not platform_id else _PLATFORM_UNKNOWN, ("platform", platform_id),
                ("known", ", ".join(platforms)))
    for column, value, limit in (("title", title, MAX_TITLE), ("category", category, MAX_CATEGORY)):
        if not value:
            problem(column, _REQUIRED)
        elif len(value) > limit:
            problem(column, _TOO_LONG, ("n", limit))
    price = parse_int(price_text)
    if price is None or price > MAX_PRICE:
        problem("price", _PRICE_BAD, ("max", MAX_PRICE))
    hours = parse_int(hours_text) if hours_text else None
    if hours_text and (hours is None or hours > MAX_HOURS):
        problem("hours", _HOURS_BAD, ("max", MAX_HOURS))
    if not url:
        problem("url", _REQUIRED)
    elif platform is not None and (wrong := official_link(url, platform)) is not None:
        problems.append(_at(wrong, line, "url"))
    if len(problems) != found:
        return None
    assert platform is not None and price is not None
    return Training(training_id, platform.id, title, category, price, hours, url)


# --- loading -------------------------------------------------------------------------------------------------------

def _seed_text(name: str) -> str:
    return resources.files(SEED_PACKAGE).joinpath(name).read_text(encoding="utf-8")


async def load(storage: Storage, platforms_text: str, trainings_text: str) -> tuple[int, int]:
    """Check both files, then replace the catalogue in one transaction: all or nothing."""
    platforms = parse_platforms(platforms_text)
    trainings = parse_trainings(trainings_text, platforms)
    await storage.catalogue.replace(platforms, trainings)
    return len(platforms), len(trainings)


async def ensure_loaded(storage: Storage) -> None:
    """Seed the catalogue on a new database; an imported catalogue is left as it is."""
    if await storage.catalogue.platforms():
        return
    await load(storage, _seed_text("platforms.json"), _seed_text("trainings.csv"))


def _read(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CatalogueRejected(name, [Problem(0, None, _NOT_UTF8)]) from None
    except OSError as exc:
        raise CatalogueRejected(name, [Problem(0, None, _FILE_UNREADABLE, (("path", path),
                                                                           ("reason", exc.strerror)))]) from None


async def run_import_catalogue(settings: Settings, trainings_file: Path, platforms_file: Path | None) -> int:
    """`python -m bot import-catalogue TRAININGS.csv [--platforms P.json]`: 0 when replaced, 1 when refused."""
    t = translator(DEFAULT_LOCALE)
    files = {"trainings": trainings_file, "platforms": platforms_file or Path("storage/seed/platforms.json")}
    for path in (trainings_file, platforms_file):
        if path is not None and not path.is_file():
            print(t.gettext("File tidak ditemukan: {path}").format(path=path), file=sys.stderr)
            return 1
    try:
        platforms_text = _read(platforms_file, "platforms") if platforms_file else _seed_text("platforms.json")
        trainings_text = _read(trainings_file, "trainings")
        parse_trainings(trainings_text, parse_platforms(platforms_text))  # before the database is opened
    except CatalogueRejected as exc:
        print(t.gettext("Katalog tidak diganti, tidak ada data yang diubah. Kesalahan di {file}:").format(
            file=files[exc.file]), file=sys.stderr)
        for line in exc.lines(t):
            print(f"  {line}", file=sys.stderr)
        return 1
    storage = await open_storage(settings.database_target, pool_size=settings.database_pool_size)
    try:
        platforms, trainings = await load(storage, platforms_text, trainings_text)
    finally:
        await storage.close()
    print(t.gettext("Katalog diganti: {platforms} platform, {trainings} pelatihan.").format(
        platforms=platforms, trainings=trainings))
    return 0
