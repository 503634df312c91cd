"""Command line: `python -m bot chat --demo | run | import FILE.csv | demo-data FILE.csv | import-catalogue`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bot.settings import SettingsError, load_settings
from handlers.understanding import DataError
from storage import StorageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Asisten Prakerja")
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat with the bot in the terminal")
    chat.add_argument("--demo", action="store_true", help="on generated demo data in a temporary database")
    sub.add_parser("run", help="Telegram long polling")
    sub.add_parser("serve", help="web server: Telegram and WhatsApp webhooks, /healthz, /metrics")
    imp = sub.add_parser("import", help="import registry records (CSV), all or nothing")
    imp.add_argument("file", type=Path)
    demo = sub.add_parser("demo-data", help="write a synthetic import file")
    demo.add_argument("file", type=Path)
    demo.add_argument("--accounts", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=2021)
    sub.add_parser("sender", help="the outbox sender alone: delivers results, broadcasts and notices")
    from bot.admin import add_parser as add_admin_parser

    add_admin_parser(sub)
    cat = sub.add_parser("import-catalogue", help="replace the training catalogue")
    cat.add_argument("trainings", type=Path, help="trainings CSV: id,platform,title,category,price,hours,url")
    cat.add_argument("--platforms", type=Path, default=None, help="platforms JSON (default: the shipped one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from bot.logs import setup_logging

    setup_logging(settings.log_level if args.command != "chat" else "WARNING")
    try:
        return asyncio.run(_run(args, settings))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except DataError as exc:  # a replaced file in handlers/understanding/data/: every problem with its line
        print(f"error: the free-text data files cannot be used:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    match args.command:
        case "chat":
            return await _chat(settings, demo=args.demo)
        case "run":
            from bot.channels.telegram import run_polling

            return await run_polling(settings)
        case "serve":
            from bot.web.serve import serve

            return await serve(settings)
        case "import":
            from bot.importer import run_import

            return await run_import(settings, args.file)
        case "sender":
            from bot.sender import main as sender_main

            return await sender_main(settings)
        case "admin":
            from bot.admin import run as admin_run

            return await admin_run(args, settings)
        case "demo-data":
            from bot.importer import write_demo_file

            return write_demo_file(args.file, args.accounts, args.seed)
        case "import-catalogue":
            from bot import catalogue
            from storage import open_storage

            storage = await open_storage(settings.database_target, pool_size=settings.database_pool_size)
            try:
                texts = catalogue.read_files(args.platforms, args.trainings)
                platforms, trainings = await catalogue.load(storage, *texts)
            except (catalogue.CatalogueError, OSError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            finally:
                await storage.close()
            print(f"catalogue: {platforms} platforms, {trainings} trainings")
            return 0
    return 2


async def _chat(settings, demo: bool) -> int:  # type: ignore[no-untyped-def]
    from bot.app import load_demo, open_app
    from bot.channels.console import ConsoleChannel
    from bot.demo import DEMO_PEPPER, applicants, showcase

    if not demo:
        app = await open_app(settings)
        channel = ConsoleChannel(app.router, own_phone=None)
    else:
        folder = tempfile.mkdtemp(prefix="prakerja-demo-")
        app = await open_app(settings, pepper=DEMO_PEPPER, database=Path(folder) / "demo.sqlite3")
        people = showcase()
        await load_demo(app.storage, DEMO_PEPPER, [*people, *applicants(200)])
        print("Asisten Prakerja: demo di terminal (data buatan, tanpa token, tanpa jaringan)")
        print("Pemohon demo (ketik /kontak untuk membagikan nomor yang pertama, /kontak NOMOR untuk yang lain):")
        for p in people:
            result = {"lolos": "Lolos", "tidak_lolos": "Tidak Lolos"}.get(p.result or "", "belum diumumkan")
            print(f"  {p.name:16} HP {p.phone}  NIK {p.nik}  gelombang {p.wave}: {result}")
        print("Tombol bernomor: ketik angkanya atau labelnya. /keluar untuk selesai.\n")
        channel = ConsoleChannel(app.router, own_phone=people[0].phone)
    try:
        await channel.run(sys.stdin)
    finally:
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
