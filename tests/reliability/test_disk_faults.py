"""Faults at the disk: another writer holds the database past busy_timeout, the database cannot be written, the
disk is full. The user gets "Sistem sedang sibuk..." (never silence, never the apology for a bug), the log says
what happened in one line, nothing is half-written, and `PRAGMA integrity_check` is ok afterwards; once the fault
passes, the same chat carries on where it was.

A real full disk and a real read-only file need a small filesystem of their own: a tmpfs is mounted when this
process may (root in a container); the same SQLite errors are also produced portably (`PRAGMA max_page_count`,
`PRAGMA query_only`), so every fault is tested on any machine.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.app import App, load_demo, open_app
from bot.channels.telegram import build_application
from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.settings import Settings, load_settings
from storage import StorageError
from tests.auxil.fake_bot_api import FakeBotApi
from tests.reliability.conftest import BUSY, answered, integrity_ok
from tests.telegram.user import TelegramUser

SHORT_BUSY_MS = 200  # instead of the 5 s busy_timeout, so that a locked database shows at once
_new_users = itertools.count(8_000_001)


async def short_busy_timeout(app: App) -> None:
    """Fault injection: the bot's connection waits SHORT_BUSY_MS for a lock instead of BUSY_TIMEOUT_MS."""
    await app.storage.database.connection.execute(f"PRAGMA busy_timeout = {SHORT_BUSY_MS}")  # type: ignore[attr-defined]


def storage_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.exc_info[1] if r.exc_info else ''}"
                     for r in caplog.records if r.name == "handlers.router")


async def test_database_locked_by_another_writer(app: App, user: TelegramUser, make_user,  # type: ignore[no-untyped-def]
                                                 people: list[DemoApplicant], caplog: pytest.LogCaptureFixture) -> None:
    siti = people[0]
    await user.send("/hubungkan")
    await user.share_contact(siti.phone)
    assert "16 digit NIK" in answered(user)
    await short_busy_timeout(app)
    other = sqlite3.connect(app.settings.database_path, isolation_level=None)  # another writer (e.g. an import)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE chats SET last_seen = last_seen")
        with caplog.at_level(logging.ERROR, logger="handlers.router"):
            await user.send(siti.nik)
            assert BUSY in answered(user)
            assert user.calls("deleteMessage")  # the NIK still leaves the chat history
            newcomer = make_user(next(_new_users))
            await newcomer.send("/start")
            assert BUSY in answered(newcomer)
        assert "database is locked" in storage_log(caplog)
    finally:
        other.rollback()
        other.close()
    await user.send(siti.nik)  # the step survived: the same NIK now links
    assert "Berhasil" in answered(user)
    assert integrity_ok(app.settings.database_path)


async def test_database_that_cannot_be_written(app: App, user: TelegramUser, people: list[DemoApplicant],
                                               caplog: pytest.LogCaptureFixture) -> None:
    """SQLite's 'attempt to write a readonly database' while running (as when the file's permissions or its
    filesystem change under the bot): PRAGMA query_only gives that exact error on any machine, even as root."""
    await user.send("/start")
    connection = app.storage.database.connection  # type: ignore[attr-defined]
    await connection.execute("PRAGMA query_only = ON")
    try:
        with caplog.at_level(logging.ERROR, logger="handlers.router"):
            await user.send("/hubungkan")
            assert BUSY in answered(user)
        assert "readonly database" in storage_log(caplog)
    finally:
        await connection.execute("PRAGMA query_only = OFF")
    await user.send("/hubungkan")
    assert "Bagikan nomor HP saya" in answered(user)
    assert integrity_ok(app.settings.database_path)


async def first_turned_away(make_user: Callable[[int], TelegramUser], most: int = 500) -> TelegramUser:
    """New users send /start one after another until one is told the system is busy; that one."""
    for _ in range(most):
        newcomer = make_user(next(_new_users))
        await newcomer.send("/start")
        if BUSY in answered(newcomer):
            return newcomer
    pytest.fail(f"{most} newcomers fitted on the full disk")


async def test_disk_full_while_newcomers_arrive(app: App, make_user, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """The database may not grow by a page (PRAGMA max_page_count = its size): newcomers are registered until a
    page would be needed; that one is told the system is busy, and is served once there is room again."""
    connection = app.storage.database.connection  # type: ignore[attr-defined]
    (pages,) = (await connection.execute_fetchall("PRAGMA page_count"))[0]
    await connection.execute(f"PRAGMA max_page_count = {pages}")
    try:
        with caplog.at_level(logging.ERROR, logger="handlers.router"):
            newcomer = await first_turned_away(make_user)
        assert "database or disk is full" in storage_log(caplog)
    finally:
        await connection.execute("PRAGMA max_page_count = 1073741823")
    await newcomer.send("/start")
    assert "Asisten Prakerja" in answered(newcomer)
    assert integrity_ok(app.settings.database_path)


# --- a real filesystem of its own ---------------------------------------------------------------------------------

@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder`; skips the test where this process may not mount."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def remount(folder: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


@contextlib.asynccontextmanager
async def demo_app(settings: Settings, people: list[DemoApplicant]) -> AsyncIterator[App]:
    app = await open_app(settings, pepper=DEMO_PEPPER)
    try:
        await load_demo(app.storage, DEMO_PEPPER, people)
        yield app
    finally:
        await app.close()


def settings_at(database: Path, api: FakeBotApi) -> Settings:
    return load_settings(database_path=database, nik_pepper=DEMO_PEPPER, telegram_bot_token=api.token,
                         telegram_api_url=api.base_url)


async def test_real_full_disk(tmp_path: Path, api: FakeBotApi, people: list[DemoApplicant],
                              caplog: pytest.LogCaptureFixture) -> None:
    """The filesystem itself is full (the WAL cannot grow): newcomers hear the system is busy, the database stays
    sound, and when space is freed everything works again."""
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        settings = settings_at(disk / "bot.sqlite3", api)
        async with demo_app(settings, people) as app, build_application(app, settings) as application:
            filler = disk / "filler.bin"
            with filler.open("wb") as handle, contextlib.suppress(OSError):  # until ENOSPC
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            with caplog.at_level(logging.ERROR, logger="handlers.router"):
                newcomer = await first_turned_away(lambda uid: TelegramUser(application, api, user_id=uid))
            assert "full" in storage_log(caplog)
            filler.unlink()
            await newcomer.send("/start")
            assert "Asisten Prakerja" in answered(newcomer)
        assert integrity_ok(settings.database_path)


async def test_read_only_database_file_at_start_is_a_clear_error(tmp_path: Path, api: FakeBotApi,
                                                                  people: list[DemoApplicant]) -> None:
    """Started on a database it cannot write (a read-only mount), the bot refuses to start with one line saying so,
    and the file is left as it was."""
    with small_tmpfs(tmp_path / "ro", "4m") as disk:
        settings = settings_at(disk / "bot.sqlite3", api)
        async with demo_app(settings, people):
            pass
        remount(disk, "ro")
        with pytest.raises(StorageError, match="read-only"):
            await open_app(settings, pepper=DEMO_PEPPER)
        remount(disk, "rw")
        assert integrity_ok(settings.database_path)
        async with demo_app(settings, []) as app:
            assert len(await app.storage.accounts.by_phone(people[0].phone)) == 1
