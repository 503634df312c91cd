"""Peak memory (RSS) of the bot's processes, each a real `python -m bot ...` on loopback:

    python -m tests.benchmarks memory [--accounts 1000000] [--seconds 30]

- idle: `python -m bot run` long-polling the fake Bot API, on the demo database and on a 1,000,000-account one;
- the import: `python -m bot import` of a 1,000,000-row file (its peak, from the kernel's accounting);
- the sender: `python -m bot sender` with 10,000 and with 1,000,000 deliveries queued (the fake Bot API capped at
  1,000 msg/s), its peak after `--seconds`; target: flat, the 1M peak within 1.2 x the 10k peak
  (tests/benchmarks/sender_load.py builds the database and runs the sender; `sender_load memory` is the same alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bot.app import load_demo, open_app
from bot.demo import DEMO_PEPPER, showcase
from bot.settings import load_settings
from tests.auxil.fake_bot_api import FakeBotApi
from tests.benchmarks.harness import header, outcome
from tests.benchmarks.sender_load import Bench, rss_peak_mb

ROOT = Path(__file__).resolve().parents[2]
SENDER_TARGET = 1.2
POLL_EVERY = 0.5


def rss_now_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def env_for(database: Path, api: FakeBotApi | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(database), "NIK_PEPPER": DEMO_PEPPER,
           "LOG_LEVEL": "WARNING"}
    if api is not None:
        env |= {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url}
    return env


async def idle_polling(database: Path, settle: float = 3.0) -> tuple[float, float]:
    """(RSS, peak RSS) in MiB of `python -m bot run` once it is polling and has answered one /start."""
    async with FakeBotApi() as api:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env_for(database, api),
                                                       cwd=database.parent)
        try:
            api.push_update({"message": {"message_id": 1, "date": int(time.time()), "text": "/start",
                                         "chat": {"id": 42, "type": "private", "first_name": "P"},
                                         "from": {"id": 42, "is_bot": False, "first_name": "P"},
                                         "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
            await api.wait_for("sendMessage", within=30)
            await asyncio.sleep(settle)
            return rss_now_mb(process.pid), rss_peak_mb(process.pid)
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)


def import_peak(csv: Path, database: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of `python -m bot import FILE`, from the kernel's accounting of the child."""
    started = time.perf_counter()
    pid = os.posix_spawn(sys.executable, [sys.executable, "-m", "bot", "import", str(csv)], env_for(database))
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"python -m bot import failed ({status})")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


async def sender_peak(recipients: int, seconds: float) -> tuple[float, int, bool]:
    """(peak RSS in MiB, deliveries queued, fully expanded) of `python -m bot sender` after `seconds`."""
    bench = Bench(argparse.Namespace(recipients=recipients, rate=1000.0, concurrency=16, seconds=seconds))
    async with FakeBotApi() as api:
        storage, broadcast_id = await bench.setup(api)
        process = await bench.sender(api)
        for _ in range(int(seconds / POLL_EVERY)):  # until `seconds` passed or everything was sent
            if not await bench.left(storage, broadcast_id):
                break
            await asyncio.sleep(POLL_EVERY)
        peak = rss_peak_mb(process.pid)
        broadcast = await storage.outbox.get(broadcast_id)
        await bench.stop(process)
        await storage.close()
    return peak, broadcast.queued if broadcast else 0, bool(broadcast and broadcast.expanded)


async def run(accounts: int, seconds: float) -> dict[str, float]:
    header(f"memory: peak RSS of the bot's processes ({accounts:,} accounts, sender for {seconds:.0f} s)")
    with tempfile.TemporaryDirectory(prefix="prakerja-bench-") as folder:
        demo = Path(folder) / "demo" / "bot.sqlite3"
        app = await open_app(load_settings(database_path=demo, nik_pepper=DEMO_PEPPER), pepper=DEMO_PEPPER)
        await load_demo(app.storage, DEMO_PEPPER, showcase())
        await app.close()
        rss, peak = await idle_polling(demo)
        print(f"idle `run` (demo database): RSS {rss:.0f} MiB, peak {peak:.0f} MiB")

        big = Path(folder) / "big" / "bot.sqlite3"
        big.parent.mkdir()
        csv = Path(folder) / "registry.csv"
        from bot.importer import write_demo_file

        write_demo_file(csv, accounts, 2021)
        took, import_rss = import_peak(csv, big)
        print(f"`import` of {accounts:,} rows: {took:.0f} s, peak RSS {import_rss:.0f} MiB")
        rss, peak = await idle_polling(big)
        print(f"idle `run` after the import ({accounts:,} accounts): RSS {rss:.0f} MiB, peak {peak:.0f} MiB")

    small, queued_small, _ = await sender_peak(10_000, seconds)
    large, queued_large, expanded = await sender_peak(accounts, seconds)
    ratio = large / small
    print(f"`sender`, 10,000 recipients: peak RSS {small:.1f} MiB ({queued_small:,} queued)")
    print(f"`sender`, {accounts:,} recipients: peak RSS {large:.1f} MiB ({queued_large:,} queued,"
          f" {'fully' if expanded else 'partly'} expanded after {seconds:.0f} s)")
    met = outcome(f"sender peak RSS, {accounts:,} / 10,000 queued", f"{ratio:.2f} x", f"<= {SENDER_TARGET} x",
                  ratio <= SENDER_TARGET)
    print(f"sender {accounts:,} / 10,000: {ratio:.2f} x (target <= {SENDER_TARGET} x: {met})")
    return {"import_rss": import_rss, "sender_small": small, "sender_large": large, "ratio": ratio}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each sender runs before its peak")
    args = parser.parse_args(argv)
    asyncio.run(run(args.accounts, args.seconds))


if __name__ == "__main__":
    main()
