"""Synthetic applicants for the demo and the tests: every value generated, nothing from a real person.

NIKs have a valid shape (province, regency, district, birth date, serial) so the whole linking path can be
tried; phone numbers are in the +62 812 range with made-up subscriber numbers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from handlers.identity import PROVINCE_CODES
from storage.models import WaveResult

DEMO_PEPPER = "demo-pepper-not-a-secret-0000"
FIRST_NAMES = ("Budi", "Siti", "Agus", "Dewi", "Rudi", "Sri", "Andi", "Rina", "Eko", "Putri", "Joko", "Wati",
               "Hendra", "Lestari", "Bayu", "Ayu", "Fajar", "Nur", "Yusuf", "Indah")
LAST_NAMES = ("Santoso", "Rahmawati", "Wijaya", "Lestari", "Saputra", "Hidayat", "Pratama", "Kusuma",
              "Nugroho", "Susanti", "Setiawan", "Purnama", "Hakim", "Permata", "Siregar", "Nasution")
DEMO_BALANCE = 3_550_000


@dataclass(frozen=True, slots=True)
class DemoApplicant:
    nik: str
    phone: str  # E.164
    name: str
    wave: int
    result: WaveResult | None
    card_number: str | None
    balance: int | None


def make_nik(rng: random.Random, female: bool) -> str:
    province = rng.choice(sorted(PROVINCE_CODES))
    day = rng.randint(1, 28) + (40 if female else 0)
    return (
        f"{province:02d}{rng.randint(1, 79):02d}{rng.randint(1, 40):02d}"
        f"{day:02d}{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}{rng.randint(1, 9999):04d}"
    )


def applicants(count: int, seed: int = 2021, waves: int = 3) -> Iterator[DemoApplicant]:
    """`count` applicants spread over `waves` waves; roughly half lolos. Deterministic for a seed."""
    rng = random.Random(seed)
    for index in range(count):
        female = rng.random() < 0.5
        wave = 1 + index % waves
        result = WaveResult.LOLOS if rng.random() < 0.5 else WaveResult.TIDAK_LOLOS
        lolos = result is WaveResult.LOLOS
        yield DemoApplicant(
            nik=make_nik(rng, female),
            phone=f"+62812{index:08d}",
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            wave=wave,
            result=result,
            card_number=f"5{index:015d}" if lolos else None,
            balance=DEMO_BALANCE if lolos else None,
        )


def showcase(seed: int = 2021) -> list[DemoApplicant]:
    """The applicants the terminal demo lists: one lolos, one tidak lolos, one still waiting for wave 4."""
    rng = random.Random(seed + 1)
    return [
        DemoApplicant(make_nik(rng, True), "+6281100000001", "Siti Rahmawati", 1, WaveResult.LOLOS,
                      "5123456789012345", DEMO_BALANCE),
        DemoApplicant(make_nik(rng, False), "+6281100000002", "Budi Santoso", 1, WaveResult.TIDAK_LOLOS, None, None),
        DemoApplicant(make_nik(rng, False), "+6281100000003", "Agus Wijaya", 4, None, None, None),
    ]


def demo_people(seed: int = 2021) -> list[DemoApplicant]:
    """The terminal demo's three: as `showcase`, but Agus's wave-4 result is decided (lolos) and waits for its
    announcement, so that an admin can try /umumkan 4 and see what a linked applicant receives."""
    siti, budi, agus = showcase(seed)
    return [siti, budi, replace(agus, result=WaveResult.LOLOS, card_number="5123456789016789", balance=DEMO_BALANCE)]


def demo_wave_times(now: datetime) -> dict[int, tuple[datetime, datetime | None]]:
    """Waves 1-3 announced in the past, wave 4 due in three days."""
    return {
        1: (now - timedelta(days=60), now - timedelta(days=60)),
        2: (now - timedelta(days=30), now - timedelta(days=30)),
        3: (now - timedelta(days=7), now - timedelta(days=7)),
        4: (now + timedelta(days=3), None),
    }
