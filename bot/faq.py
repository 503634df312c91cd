"""`python -m bot import-faq FILE.toml`: replace the FAQ the bot answers with, all or nothing (issue 13).

The same check as an admin's upload in the chat (/impor_faq, handlers/faq.py `import_faq`): every problem is
listed with its line and column, in Indonesian, and nothing changes. A running bot answers with the new FAQ within
`handlers.faq.REFRESH_SECONDS`, without a restart. Without an import the FAQ shipped with the bot
(handlers/understanding/data/faq.toml) is in force; `--shipped` writes it out to start from.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.channels.console import to_plain
from bot.settings import Settings
from handlers.admin.understanding import refused_lines
from handlers.faq import check_faq, import_faq
from handlers.i18n import translator
from handlers.understanding import DataError, shipped
from handlers.understanding.faq import decode
from storage import open_storage

CLI_ACTOR = "cli"


def _err(text: str) -> None:
    print(to_plain(text), file=sys.stderr)


async def run_import_faq(settings: Settings, path: Path) -> int:
    """0 when the FAQ was replaced, 1 when the file was refused (nothing changed)."""
    t = translator("id")
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        _err(t.gettext("File tidak dapat dibaca: {path} ({reason})").format(path=path, reason=exc.strerror))
        return 1
    understanding, now = shipped(), datetime.now(UTC)
    try:
        text = decode(data)
        check_faq(understanding, text, now, path.name)  # before the database is opened
    except DataError as exc:
        for line in refused_lines(t, exc, shown=len(exc.problems)):
            _err(line)
        return 1
    storage = await open_storage(settings.database_target, pool_size=settings.database_pool_size)
    try:
        book = await import_faq(storage, understanding, text, CLI_ACTOR, "admin", now, path.name)
    finally:
        await storage.close()
    print(to_plain(t.gettext("<b>FAQ diganti</b>: {n} pertanyaan umum. Bot langsung menjawab dengan FAQ ini.")
                     .format(n=len(book.entries))))
    return 0

