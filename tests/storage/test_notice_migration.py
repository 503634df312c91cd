"""A notice queued before its buttons had a column of their own (the marker and JSON inside `body`) is migrated on
both backends, and the applicant still gets the same message with the same buttons (design note 21)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from handlers.admin.outbox import notice_buttons, notice_reply
from handlers.handoff import rating_reply
from handlers.i18n import translator
from storage import open_storage
from storage.core import migrations
from tests.auxil.postgres import fresh_schema, require_postgres

MARKER = "\x1ereply:"  # how a notice with buttons was kept before (handlers/api.py, `notice_body`)


def _before(package: str) -> list[tuple[int, str, str]]:
    """The migrations before the one that gives notices' buttons their column."""
    scripts = list(migrations(package, 0))
    (ours,) = [number for number, name, _ in scripts if name.endswith("_notice_buttons.sql")]
    return [script for script in scripts if script[0] < ours]


def _old_body() -> tuple[str, str]:
    """A rating question as it was queued before, with a link button added: (body, its text)."""
    reply = rating_reply(translator("id"), 7, by_staff=True)
    rows = [[[b.label, b.action, b.arg] for b in row] for row in reply.buttons] + [[["Situs", "", "https://x.id/?a=1"]]]
    return MARKER + json.dumps({"text": reply.text, "buttons": rows}, ensure_ascii=False), reply.text


async def _check(target: str, broadcast_id: int, plain_id: int, text: str) -> None:
    storage = await open_storage(target)  # migrates the rest
    try:
        migrated = await storage.outbox.get(broadcast_id)
        plain = await storage.outbox.get(plain_id)
    finally:
        await storage.close()
    assert migrated is not None and plain is not None
    reply = notice_reply(migrated)
    assert reply.text == text and MARKER not in (migrated.body or "")
    expected = rating_reply(translator("id"), 7, by_staff=True)
    assert reply.buttons[:-1] == expected.buttons  # "1 ⭐" ... "5 ⭐", each with its action and argument
    (link,) = reply.buttons[-1]
    assert (link.label, getattr(link, "url", None)) == ("Situs", "https://x.id/?a=1")
    assert notice_buttons(reply) == migrated.buttons
    assert notice_reply(plain).text == "Halo" and plain.buttons == ()


async def test_an_old_notice_with_buttons_is_migrated_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    body, text = _old_body()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with sqlite3.connect(path) as conn:
        for number, _name, sql in _before("storage.migrations.sqlite"):
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")
        insert = ("INSERT INTO broadcasts (kind, priority, body, state, created_by, created_at)"
                  " VALUES ('notice', 0, ?, 'running', 'system', ?) RETURNING id")
        broadcast_id = conn.execute(insert, (body, now)).fetchone()[0]
        plain_id = conn.execute(insert, ("Halo", now)).fetchone()[0]
    conn.close()
    await _check(str(path), broadcast_id, plain_id, text)


async def test_an_old_notice_with_buttons_is_migrated_on_postgres() -> None:
    body, text = _old_body()
    async with fresh_schema(require_postgres()) as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL,"
                               " applied_at timestamptz NOT NULL DEFAULT now())")
            for number, name, sql in _before("storage.migrations.postgres"):
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_version (version, name) VALUES ($1, $2)", number, name)
            insert = ("INSERT INTO broadcasts (kind, priority, body, state, created_by, created_at)"
                      " VALUES ('notice', 0, $1, 'running', 'system', now()) RETURNING id")
            broadcast_id = await conn.fetchval(insert, body)
            plain_id = await conn.fetchval(insert, "Halo")
        finally:
            await conn.close()
        await _check(url, broadcast_id, plain_id, text)

