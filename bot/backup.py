"""`python -m bot backup DEST` and `python -m bot restore BACKUP`: SQLite's online backup API, from the standard
library (`sqlite3.Connection.backup`).

The copy is taken in one step, inside one read transaction: in WAL mode (the bot's) a reader never blocks the
bot's writers and sees one consistent moment of the database, so a backup is safe while `run` or `serve` works.
The copy is written next to its destination, checked (`PRAGMA integrity_check`) and only then renamed into place:
a backup that exists is whole. PostgreSQL is backed up with `pg_dump` (docs/deploy.md).

The NIK hashes in a backup are only useful with the NIK_PEPPER they were made with: keep the pepper (not in the
same place as the backups) for as long as the backups.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import Settings

BACKUP_NAME = "prakerja-{stamp}.sqlite3"  # in a destination folder
STAMP = "%Y%m%d-%H%M%S"
REQUIRED_TABLE = "accounts"  # a file without it is no database of this bot


class BackupError(Exception):
    """One line for the operator: what went wrong and what to do."""


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A connection to a database file that must exist (`mode=rw` never creates one)."""
    try:
        return sqlite3.connect(f"file:{path.resolve()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {exc}") from None


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """`source` copied to `target` through a `.partial` file, checked, then renamed into place."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)  # pages=-1: one step, one read snapshot
            (result,) = copy.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise BackupError(f"the copy failed its integrity check ({result}); nothing was written")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _check_ours(connection: sqlite3.Connection, path: Path) -> None:
    try:
        found = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   (REQUIRED_TABLE,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    if found is None:
        raise BackupError(f"{path} is not a database of this bot (no {REQUIRED_TABLE} table)")


def backup(database: Path, dest: Path, now: datetime | None = None) -> Path:
    """Copy the live `database` to `dest` (a file, or a folder for a dated file); the path written."""
    target = dest / BACKUP_NAME.format(stamp=(now or datetime.now(UTC)).strftime(STAMP)) if dest.is_dir() else dest
    if target.exists():
        raise BackupError(f"{target} exists already: choose another name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent} to write the backup into")
    if target.resolve() == database.resolve():
        raise BackupError("the backup must go somewhere other than the database itself")
    with contextlib.closing(_connect_existing(database)) as source:
        _check_ours(source, database)
        _copy(source, target)
    return target


def restore(backup_file: Path, database: Path) -> None:
    """Put `backup_file` in place as `database`, which must not exist yet (the bot is stopped; a database that is
    there is moved away by hand, so that nothing is lost by mistake)."""
    if not backup_file.is_file():
        raise BackupError(f"no backup file at {backup_file}")
    leftovers = [p for p in (database, Path(f"{database}-wal")) if p.exists()]
    if leftovers:
        raise BackupError(f"{leftovers[0]} exists: stop the bot and move the old database (and its -wal, -shm"
                          " files) away first; restore never overwrites")
    database.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(_connect_existing(backup_file)) as source:
        _check_ours(source, backup_file)
        _copy(source, database)


def run_backup(settings: Settings, dest: Path) -> int:
    if settings.database_url is not None:
        raise BackupError("DATABASE_URL is PostgreSQL: back it up with pg_dump -Fc (docs/deploy.md, Backups)")
    target = backup(settings.database_path, dest)
    print(f"backup written: {target} ({target.stat().st_size:,} bytes)")
    return 0


def run_restore(settings: Settings, source: Path) -> int:
    if settings.database_url is not None:
        raise BackupError("DATABASE_URL is PostgreSQL: restore it with pg_restore (docs/deploy.md, Backups)")
    restore(source, settings.database_path)
    print(f"restored {source} to {settings.database_path}: start the bot (with the same NIK_PEPPER)",
          file=sys.stdout)
    return 0
