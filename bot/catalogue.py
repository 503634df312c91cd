"""The training-platform catalogue: seeded from data files shipped in `storage/seed/`, replaceable by import.

`platforms.json` holds the seven platforms of the programme (texts per locale); `trainings.csv` the sample
training catalogue (`id,platform,title,category,price,hours,url`). `python -m bot import-catalogue` loads other
files with the same shape, all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, HttpUrl, ValidationError

from storage import Storage
from storage.models import Platform, Training

SEED_PACKAGE = "storage.seed"
TRAINING_COLUMNS = ("id", "platform", "title", "category", "price", "hours", "url")


class CatalogueError(ValueError):
    """The catalogue files are malformed; the message lists what and where."""


class _PlatformText(BaseModel):
    offer: str = Field(min_length=1)
    payment: str = Field(min_length=1)


class _PlatformIn(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    url: HttpUrl
    domains: list[str] = Field(min_length=1)
    texts: dict[str, _PlatformText]


class _TrainingIn(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    platform: str
    title: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=60)
    price: int = Field(ge=0, le=10_000_000)
    hours: int | None = Field(default=None, ge=0, le=1000)
    url: HttpUrl


def parse_platforms(text: str) -> list[Platform]:
    try:
        items = [_PlatformIn.model_validate(item) for item in json.loads(text)]
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise CatalogueError(f"platforms: {exc}") from None
    if "id" not in {locale for item in items for locale in item.texts}:
        raise CatalogueError("platforms: every platform needs Indonesian ('id') texts")
    return [
        Platform(p.id, p.name, position, str(p.url), tuple(p.domains),
                 {loc: txt.model_dump() for loc, txt in p.texts.items()})
        for position, p in enumerate(items, start=1)
    ]


def parse_trainings(text: str, platform_ids: set[str]) -> list[Training]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != TRAINING_COLUMNS:
        raise CatalogueError(f"trainings: header must be {','.join(TRAINING_COLUMNS)}")
    trainings: list[Training] = []
    errors: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        try:
            item = _TrainingIn.model_validate({k: (v if v != "" else None) for k, v in row.items()})
        except ValidationError as exc:
            errors.extend(f"line {line}, column {e['loc'][0]}: {e['msg']}" for e in exc.errors())
            continue
        if item.platform not in platform_ids:
            errors.append(f"line {line}, column platform: unknown platform {item.platform!r}")
        elif item.id in seen:
            errors.append(f"line {line}, column id: duplicate id {item.id!r}")
        else:
            seen.add(item.id)
            trainings.append(
                Training(item.id, item.platform, item.title, item.category, item.price, item.hours, str(item.url))
            )
    if errors:
        raise CatalogueError("trainings: " + "; ".join(errors[:20]))
    return trainings


def _seed_text(name: str) -> str:
    return resources.files(SEED_PACKAGE).joinpath(name).read_text(encoding="utf-8")


async def load(storage: Storage, platforms_text: str, trainings_text: str) -> tuple[int, int]:
    platforms = parse_platforms(platforms_text)
    trainings = parse_trainings(trainings_text, {p.id for p in platforms})
    await storage.catalogue.replace(platforms, trainings)
    return len(platforms), len(trainings)


async def ensure_loaded(storage: Storage) -> None:
    """Seed the catalogue on a new database; an imported catalogue is left as it is."""
    if await storage.catalogue.platforms():
        return
    await load(storage, _seed_text("platforms.json"), _seed_text("trainings.csv"))


def read_files(platforms_file: Path | None, trainings_file: Path) -> tuple[str, str]:
    platforms_text = platforms_file.read_text(encoding="utf-8") if platforms_file else _seed_text("platforms.json")
    return platforms_text, trainings_file.read_text(encoding="utf-8")
