"""The NIK hash as 32 raw bytes (issue 15.3): an account imported while it was 64 hex characters is found by its
NIK after the migration, on both backends, and its applicant links as before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from bot.app import open_app
from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.settings import load_settings
from handlers.identity import hash_nik
from storage import open_storage
from storage.core import migrations
from tests.auxil.driver import ChatDriver
from tests.storage.test_storages import target  # noqa: F401  (the database of each backend)

MIGRATION = "nik_hash_bytes"


def package(where: str) -> str:
    return f"storage.migrations.{'postgres' if where.startswith('postgres') else 'sqlite'}"


def before_bytes(where: str) -> list[tuple[int, str, str]]:
    """The migrations up to the one before the NIK hash became bytes."""
    scripts = list(migrations(package(where), 0))
    number = next(n for n, name, _ in scripts if MIGRATION in name)
    return [(n, name, sql) for n, name, sql in scripts if n < number]


async def old_database(where: str, person: DemoApplicant) -> None:
    """The schema as it was before, holding `person` imported with the hash as hex text."""
    now = datetime.now(UTC)
    account = ("INSERT INTO accounts (nik_hash, phone, name, card_number, balance, updated_at)"
               " VALUES (?, ?, ?, ?, ?, ?)")
    values = (hash_nik(person.nik, DEMO_PEPPER).hex(), person.phone, person.name, person.card_number,
              person.balance, now)
    if where.startswith("postgres"):
        conn = await asyncpg.connect(where)
        try:
            await conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL,"
                               " applied_at timestamptz NOT NULL DEFAULT now())")
            for number, name, sql in before_bytes(where):
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", number, name)
            await conn.execute(account.replace("?", "${}").format(*range(1, 7)), *values)
        finally:
            await conn.close()
        return
    with sqlite3.connect(where) as conn:
        for number, _, sql in before_bytes(where):
            conn.executescript(f"{sql}\nPRAGMA user_version={number};")
        conn.execute(account, (*values[:-1], now.isoformat()))
    conn.close()


@pytest.fixture
def siti(people: list[DemoApplicant]) -> DemoApplicant:
    return people[0]


async def test_an_account_stored_with_a_hex_hash_is_found_by_its_nik_after_the_migration(
        target: str, siti: DemoApplicant) -> None:  # noqa: F811
    await old_database(target, siti)
    storage = await open_storage(target)
    try:
        account = await storage.accounts.by_phone_and_nik(siti.phone, hash_nik(siti.nik, DEMO_PEPPER))
        assert account is not None and account.name == siti.name
        found = await storage.staff.find_accounts(nik_hash=hash_nik(siti.nik, DEMO_PEPPER))
        assert [a.id for a in found] == [account.id]
    finally:
        await storage.close()


async def test_an_applicant_imported_before_the_migration_links_with_their_nik(
        target: str, siti: DemoApplicant, tmp_path: Path) -> None:  # noqa: F811
    await old_database(target, siti)
    postgres = target.startswith("postgres")
    settings = load_settings(database_path=Path(target) if not postgres else tmp_path / "unused.sqlite3",
                             database_url=target if postgres else None, nik_pepper=DEMO_PEPPER)
    app = await open_app(settings, pepper=DEMO_PEPPER)
    try:
        chat = ChatDriver(app.router, user_id="1001")
        await chat.command("hubungkan")
        await chat.contact(siti.phone.lstrip("+"))
        assert "NIK" in chat.text_out
        await chat.text(siti.nik)
        assert "Berhasil" in chat.text_out and siti.name.split()[0] in chat.text_out
    finally:
        await app.close()
