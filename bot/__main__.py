"""Command line: `python -m bot COMMAND` (`python -m bot --help` lists them, `python -m bot COMMAND --help` says
what each needs).

Every failure an operator can cause (a missing or malformed setting, no database yet, Telegram unreachable or the
token refused, a file that cannot be read) ends the command with one line on stderr and a non-zero exit code:
2 for settings, 3 for the database, 1 for anything else. Never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sqlite3
import sys
from importlib import resources
from pathlib import Path
from typing import NoReturn

from bot import admin, backup, catalogue, faq, importer, retention
from bot.app import open_app
from bot.channels.console import ConsoleChannel
from bot.logs import mask_text, setup_logging
from bot.settings import Settings, SettingsError, load_settings
from handlers.understanding import DataError
from storage import StorageError
from storage.sqlite.database import MIGRATIONS_PACKAGE

log = logging.getLogger("bot")

EXIT_FAILED, EXIT_SETTINGS, EXIT_DATABASE, EXIT_INTERRUPTED = 1, 2, 3, 130
# `sender` beside `serve` (the Procfile, honcho): how long it waits for the SQLite database `serve` makes
DATABASE_WAIT_SECONDS = 30.0
DATABASE = "DATABASE_PATH (SQLite) or DATABASE_URL (PostgreSQL)"
# What each command reads from the environment / `.env` (shown by its --help; README.md explains each setting).
NEEDS = {
    "chat": f"settings: NIK_PEPPER, {DATABASE}, an existing database. With --demo: none (generated data in a"
            " temporary folder, removed at the end)",
    "run": f"settings: TELEGRAM_BOT_TOKEN, NIK_PEPPER, {DATABASE} (created if missing); optional: ADMIN_IDS,"
           " SUPPORT_IDS, SUPPORT_CHAT_ID, TELEGRAM_RATE, LOG_LEVEL",
    "serve": f"settings: NIK_PEPPER, {DATABASE}, and TELEGRAM_BOT_TOKEN with PUBLIC_URL and/or WHATSAPP_TOKEN,"
             " WHATSAPP_PHONE_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN; optional: HOST, PORT,"
             " TELEGRAM_WEBHOOK_SECRET, SUPPORT_CHAT_ID, WHATSAPP_TIER, WHATSAPP_CODES_PER_CHAT,"
             " WHATSAPP_CODES_PER_NUMBER, WHATSAPP_CODES_PER_HOUR",
    "sender": f"settings: NIK_PEPPER, {DATABASE}, a database made by `serve`, `run` or `import` (SQLite: waited"
              f" for up to {DATABASE_WAIT_SECONDS:.0f} s); TELEGRAM_BOT_TOKEN and/or the WHATSAPP_* settings for the"
              " channels it delivers to; TELEGRAM_RATE, SENDER_CONCURRENCY, SENDER_LEASE_SECONDS",
    "import": f"settings: NIK_PEPPER, {DATABASE} (created if missing). `python -m bot admin import` is the same"
              " command",
    "demo-data": "settings: none",
    "import-catalogue": f"settings: {DATABASE} (created if missing)",
    "import-faq": f"settings: {DATABASE} (created if missing)",
    "backup": "settings: DATABASE_PATH, an existing SQLite database (PostgreSQL: pg_dump, see docs/deploy.md)",
    "restore": "settings: DATABASE_PATH (must not exist yet: the restored copy becomes the database)",
    "whoami": "settings: TELEGRAM_BOT_TOKEN (no database, no NIK_PEPPER)",
    "retention": f"settings: {DATABASE}, an existing database; RETENTION_TICKETS_DAYS (closed tickets, default"
                 " 180), RETENTION_AUDIT_DAYS (audit rows, 365), RETENTION_DELIVERIES_DAYS (finished outbox"
                 " deliveries, 90); no NIK_PEPPER",
    "admin": f"settings: {DATABASE}, an existing database; `admin import` also NIK_PEPPER",
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its usage block is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        commands = next((a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None)
        if commands is not None and message == f"the following arguments are required: {commands.dest}":
            message = f"name a command: {', '.join(commands.choices)}"  # not argparse's "required: admin_command"
        self.exit(EXIT_SETTINGS, f"error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot", description="Asisten Prakerja",
                     epilog="Settings come from the environment or a .env file in the current folder (.env.example"
                            " lists them; an empty value means not set).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, epilog=NEEDS[name])

    chat = command("chat", "chat with the bot in the terminal")
    chat.add_argument("--demo", action="store_true", help="on generated demo data in a temporary database")
    command("run", "Telegram long polling, with the outbox sender and the support desk")
    command("serve", "web server: Telegram and WhatsApp webhooks, /healthz, /metrics, with the sender")
    command("sender", "the outbox sender alone: delivers results, broadcasts and notices")
    imp = command("import", "import registry records (CSV), all or nothing")
    imp.add_argument("file", type=Path)
    demo = command("demo-data", "write a synthetic import file")
    demo.add_argument("file", type=Path)
    demo.add_argument("--accounts", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=2021)
    cat = command("import-catalogue", "replace the training catalogue, all or nothing")
    cat.add_argument("trainings", type=Path, help="trainings CSV: id,platform,title,category,price,hours,url")
    cat.add_argument("--platforms", type=Path, default=None, help="platforms JSON (default: the shipped one)")
    faq = command("import-faq", "replace the FAQ the bot answers with (TOML, like the shipped one), all or nothing")
    faq.add_argument("file", type=Path, help="a faq.toml: see handlers/understanding/data/faq.toml")
    backup = command("backup", "copy the SQLite database while the bot runs (SQLite's online backup)")
    backup.add_argument("dest", type=Path, help="a file, or a folder (a dated file is made in it)")
    restore = command("restore", "put a backup in place as the database (the bot stopped)")
    restore.add_argument("source", type=Path, help="a file written by `python -m bot backup`")
    whoami = command("whoami", "answer everyone who writes to the bot with their Telegram ids (for ADMIN_IDS,"
                               " SUPPORT_IDS, SUPPORT_CHAT_ID)")
    whoami.add_argument("--once", action="store_true", help="stop after the first answer")
    retention = command("retention", "delete closed tickets, audit rows and finished deliveries older than their"
                                     " retention periods (UU PDP 27/2022); run it daily")
    retention.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    admin.add_parser(sub, NEEDS["admin"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc), EXIT_SETTINGS)
    setup_logging(settings.log_level if args.command != "chat" else "WARNING")
    try:
        return asyncio.run(_run(args, settings))
    except SettingsError as exc:
        return _fail(str(exc), EXIT_SETTINGS)
    except StorageError as exc:
        return _fail(str(exc), EXIT_DATABASE)
    except DataError as exc:  # a replaced file in handlers/understanding/data/: every problem with its line
        print(f"error: the free-text data files cannot be used:\n{exc}", file=sys.stderr)
        return EXIT_SETTINGS
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        failure = _known_failure(exc, settings)
        if failure is None:
            raise
        return _fail(*failure)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _known_failure(exc: Exception, settings: Settings) -> tuple[str, int] | None:
    """One line for a failure outside our code: Telegram unreachable or refusing, a file or port the OS refuses."""
    # deferred: python-telegram-bot (~240 modules, ~0.25 s) only once a command has failed
    from telegram.error import InvalidToken, NetworkError, TelegramError

    if isinstance(exc, backup.BackupError):
        return str(exc), EXIT_FAILED
    token = settings.telegram_bot_token or ""
    if isinstance(exc, InvalidToken):  # its message holds the token: not shown
        return "Telegram refused TELEGRAM_BOT_TOKEN: check the token from @BotFather", EXIT_SETTINGS
    if isinstance(exc, TelegramError):
        reason = mask_text(exc.message.replace(token, "<token>") if token else exc.message)
        if isinstance(exc, NetworkError):
            return f"cannot reach the Telegram Bot API at {settings.telegram_api_url}: {reason}", EXIT_FAILED
        return f"the Telegram Bot API refused a start-up call: {reason}", EXIT_FAILED
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", EXIT_FAILED
    return None


def require_database(settings: Settings) -> None:
    """Commands that read an existing database refuse, instead of creating an empty one where they were started."""
    if settings.database_url is None and not settings.database_path.exists():
        raise StorageError(f"no database at {settings.database_path} (DATABASE_PATH): start the bot or run"
                           " `python -m bot import FILE.csv` first, or point DATABASE_PATH at it")


async def wait_for_database(settings: Settings) -> None:
    """The sender never makes the SQLite database: started beside `serve` (the Procfile), the two would create and
    migrate one file at once. It waits for the one `serve`, `run` or `import` makes, migrated, at most
    DATABASE_WAIT_SECONDS, then refuses in one line (a database still behind then is migrated by the sender: nobody
    else is). On PostgreSQL the processes already wait for the one that migrates."""
    if settings.database_url is not None:
        return
    path = settings.database_path
    latest = max(int(e.name.split("_", 1)[0]) for e in resources.files(MIGRATIONS_PACKAGE).iterdir()
                 if e.name.endswith(".sql"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DATABASE_WAIT_SECONDS
    said = False
    while _sqlite_version(path) < latest and loop.time() < deadline:
        if not said:
            said = True
            log.info("waiting up to %.0f s for the database at %s (DATABASE_PATH), made by `serve`, `run` or"
                     " `import`", DATABASE_WAIT_SECONDS, path)
        await asyncio.sleep(0.2)
    require_database(settings)


def _sqlite_version(path: Path) -> int:
    """The migration a SQLite database is at (-1: no such file, or not readable yet); never creates the file."""
    if not path.exists():
        return -1
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return -1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # deferred: the commands that run a platform load it (python-telegram-bot, uvicorn and Starlette: 240 to 410
    # modules, 0.1 to 0.3 s); the others (import, admin, backup, ...) start without them
    match args.command:
        case "chat":
            if args.demo:
                from bot.demo_chat import run_demo

                return await run_demo(settings)
            settings.require_pepper()
            require_database(settings)
            return await _chat(settings)
        case "run":
            from bot.run import run_polling

            return await run_polling(settings)
        case "serve":
            from bot.web.serve import serve

            return await serve(settings)
        case "import":
            return await importer.run_import(settings, args.file)
        case "sender":
            settings.require_pepper()
            await wait_for_database(settings)
            from bot.outbox import sender_main

            return await sender_main(settings)
        case "admin":
            if args.admin_command != "import":
                require_database(settings)
            return await admin.run(args, settings)
        case "demo-data":
            return importer.write_demo_file(args.file, args.accounts, args.seed)
        case "import-catalogue":
            return await catalogue.run_import_catalogue(settings, args.trainings, args.platforms)
        case "import-faq":
            return await faq.run_import_faq(settings, args.file)
        case "backup":
            require_database(settings)
            return backup.run_backup(settings, args.dest)
        case "restore":
            return backup.run_restore(settings, args.source)
        case "retention":
            require_database(settings)
            return await retention.run_retention(settings, dry_run=args.dry_run)
        case "whoami":
            from bot.whoami import run_whoami

            return await run_whoami(settings, once=args.once)
    return EXIT_SETTINGS


async def _chat(settings: Settings) -> int:
    app = await open_app(settings)
    try:
        await ConsoleChannel(app.router, own_phone=None).run(sys.stdin)
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
