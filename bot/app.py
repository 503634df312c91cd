"""Wiring: settings + storage + handlers into a ready `Router`, shared by every channel and command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from bot import catalogue
from bot.admin import UploadImporter
from bot.demo import DemoApplicant, demo_wave_times
from bot.settings import Settings
from handlers import build_router
from handlers.admin.understanding import unmatched_counter
from handlers.context import HandlerConfig, Services
from handlers.faq import StoredFaq
from handlers.identity import hash_nik
from handlers.router import Router
from handlers.workhours import HandoffConfig
from storage import ImportRow, Storage, open_storage


@dataclass
class App:
    settings: Settings
    storage: Storage
    router: Router

    async def close(self) -> None:
        await self.storage.close()


def handler_config(settings: Settings, pepper: str, handoff: HandoffConfig | None = None) -> HandlerConfig:
    return HandlerConfig(
        nik_pepper=pepper,
        intro_video_url=str(settings.intro_video_url),
        admins=frozenset(settings.admin_ids),
        support=frozenset(settings.support_ids),
        handoff=handoff or settings.handoff,  # the support desk (issue 8)
        codes=settings.code_limits,  # WhatsApp verification codes (issue 14.5)
    )


async def open_app(settings: Settings, *, pepper: str | None = None, database: Path | str | None = None,
                   handoff: HandoffConfig | None = None) -> App:
    """Open the database (migrating it), load the catalogue if empty, and build the router. `handoff` replaces
    the settings' support desk (the terminal demo plays the desk itself)."""
    storage = await open_storage(database or settings.database_target, pool_size=settings.database_pool_size)
    try:
        await catalogue.ensure_loaded(storage)
        pepper = pepper or settings.require_pepper()
        services = Services(storage=storage, config=handler_config(settings, pepper, handoff),
                            importer=UploadImporter(storage, pepper),  # admins' CSV uploads (/impor)
                            faq=StoredFaq(storage),  # an admin's import, else the shipped file (issue 13)
                            not_understood=[unmatched_counter(storage)])  # counted per day, masked
        return App(settings, storage, build_router(services))
    except BaseException:
        await storage.close()
        raise


async def load_demo(storage: Storage, pepper: str, people: list[DemoApplicant]) -> None:
    """Put demo applicants and wave times into the database (the terminal demo and the tests use this)."""
    now = datetime.now(UTC)
    await storage.accounts.import_rows(
        ImportRow(hash_nik(p.nik, pepper), p.phone, p.name, p.wave, p.result, p.card_number, p.balance)
        for p in people
    )
    for number, (announce_at, published_at) in demo_wave_times(now).items():
        await storage.waves.set_announce_at(number, announce_at)
        if published_at is not None:
            await storage.waves.publish(number, published_at)


def read_seed_json(name: str) -> object:
    return json.loads(resources.files("storage.seed").joinpath(name).read_text(encoding="utf-8"))
