"""`python -m bot retention [--dry-run]` (issue 12): old closed tickets, audit rows and finished deliveries go;
the periods are settings; the dry run deletes nothing; --help names the settings."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import _parser
from storage import open_storage
from storage.models import PostKind, TicketInput
from tests.cli.test_admin_cli import Run, subcommands

OLD = datetime.now(UTC) - timedelta(days=200)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with one ticket closed 200 days ago and one closed today, and audit rows of 200 days ago."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))

    async def fill() -> None:
        storage = await open_storage(path)
        try:
            for n, closed in (("1", OLD), ("2", datetime.now(UTC))):
                chat = (await storage.chats.snapshot("telegram", n, n)).chat.id
                ticket, _ = await storage.tickets.open(chat, None, "x", n, OLD)
                await storage.tickets.receive(ticket.id, n, TicketInput(PostKind.TEXT, "Halo"), OLD, 10,
                                              timedelta(minutes=1))
                await storage.tickets.close(ticket.id, "9000002", "support", "selesai", closed)
            await storage.database.execute("UPDATE audit_log SET at = ?", (OLD,))
        finally:
            await storage.close()

    asyncio.run(fill())
    return path


def tickets_left(database: Path) -> int:
    async def read() -> int:
        storage = await open_storage(database)
        try:
            return int((await storage.database.fetchone("SELECT count(*) AS n FROM tickets"))["n"])
        finally:
            await storage.close()

    return asyncio.run(read())


def test_dry_run_counts_then_retention_deletes(database: Path, run: Run) -> None:
    code, out, _ = run("retention", "--dry-run")
    assert code == 0
    assert "closed tickets" in out and "RETENTION_TICKETS_DAYS=180): 1 would be deleted, with 2 messages" in out
    assert "dry run: nothing was deleted" in out and tickets_left(database) == 2
    code, out, _ = run("retention")
    assert code == 0 and "RETENTION_TICKETS_DAYS=180): 1 deleted" in out and "dry run" not in out
    assert tickets_left(database) == 1
    code, out, _ = run("retention", "--dry-run")
    assert "RETENTION_TICKETS_DAYS=180): 0 would be deleted" in out
    assert "RETENTION_AUDIT_DAYS=365): 0 would be deleted" in out


def test_the_periods_are_settings(database: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETENTION_TICKETS_DAYS", "365")
    monkeypatch.setenv("RETENTION_AUDIT_DAYS", "30")
    code, out, _ = run("retention")
    assert code == 0 and "RETENTION_TICKETS_DAYS=365): 0 deleted" in out
    assert re.search(r"RETENTION_AUDIT_DAYS=30\): [1-9]\d* deleted", out)  # the tickets' rows, 200 days old
    assert tickets_left(database) == 2
    monkeypatch.setenv("RETENTION_AUDIT_DAYS", "")  # empty: the default
    assert "RETENTION_AUDIT_DAYS=365)" in run("retention", "--dry-run")[1]


def test_help_names_the_settings() -> None:
    text = dict(subcommands(_parser()))[("retention",)].format_help()
    for name in ("RETENTION_TICKETS_DAYS", "RETENTION_AUDIT_DAYS", "RETENTION_DELIVERIES_DAYS", "--dry-run"):
        assert name in text


def test_counts_of_messages_not_understood_go_with_the_audit_period(database: Path, run: Run) -> None:
    old_day, today = (OLD - timedelta(days=200)).strftime("%Y-%m-%d"), datetime.now(UTC).strftime("%Y-%m-%d")

    async def count(day: str, text: str) -> None:
        storage = await open_storage(database)
        try:
            await storage.unmatched.add(day, text, "id")
        finally:
            await storage.close()

    asyncio.run(count(old_day, "resep rendang"))
    asyncio.run(count(today, "cuaca besok"))
    code, out, _ = run("retention", "--dry-run")
    assert code == 0 and re.search(r"messages not understood, before \S+ \(RETENTION_AUDIT_DAYS=365\): 1 would", out)
    assert "1 deleted" in run("retention")[1].split("not understood")[1]

    async def left() -> list[str]:
        storage = await open_storage(database)
        try:
            return [u.text for u in await storage.unmatched.top("2000-01-01", 10)]
        finally:
            await storage.close()

    assert asyncio.run(left()) == ["cuaca besok"]
