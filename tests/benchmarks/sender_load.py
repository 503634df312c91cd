"""Outbox sender figures, measured at the fake Bot API on loopback (run by hand; prints figures).

    python -m tests.benchmarks.sender_load rate --recipients 10000 --rate 30     # ~6 minutes
    python -m tests.benchmarks.sender_load rate --recipients 10000 --rate 1000
    python -m tests.benchmarks.sender_load kill --recipients 10000 --rate 1000
    python -m tests.benchmarks.sender_load memory --recipients 10000
    python -m tests.benchmarks.sender_load memory --recipients 1000000

Each run builds a fresh SQLite database of generated applicants (accounts and linked Telegram chats, bulk-inserted),
queues one broadcast to all of them, and runs the real `python -m bot sender` as a subprocess against the fake
server, which answers 429 beyond the cap (overall and 1/s per chat) the way Telegram would.
- rate: achieved messages/s vs the cap, the busiest one-second window, 429s received.
- kill: SIGKILL of the sender mid-broadcast, restart; duplicates and losses per recipient, and how many were in
  flight at the kill (the bound on duplicates).
- memory: the sender's peak RSS (VmHWM) while it expands the audience and sends for `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.app import open_app
from bot.demo import DEMO_PEPPER
from bot.settings import load_settings
from storage import Storage
from storage.models import Audience, BroadcastKind
from tests.auxil.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
FIRST_CHAT = 10_000_000


async def populate(storage: Storage, count: int) -> None:
    """`count` accounts, each linked from a Telegram chat: generated in SQL, a few seconds for a million."""
    now = "2024-01-01T00:00:00+00:00"
    await storage.database.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO accounts (nik_hash, phone, name, updated_at)"
        " SELECT printf('bench-%d', i), printf('+62812%08d', i), 'Peserta Uji', ? FROM n",
        (count, now),
    )
    await storage.database.execute(
        "INSERT INTO chats (channel, external_id, user_id, account_id, linked_at, first_seen, last_seen)"
        " SELECT 'telegram', CAST(? + id AS TEXT), CAST(? + id AS TEXT), id, ?, ?, ? FROM accounts"
        " WHERE nik_hash LIKE 'bench-%'",
        (FIRST_CHAT, FIRST_CHAT, now, now, now),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="sender-bench-"))
        self.database = self.folder / "bench.sqlite3"

    async def setup(self, api: FakeBotApi) -> tuple[Storage, int]:
        settings = load_settings(database_path=self.database, nik_pepper=DEMO_PEPPER)
        app = await open_app(settings)
        started = time.perf_counter()
        await populate(app.storage, self.args.recipients)
        draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, "bench", body="Info penting untuk Anda",
                                                audience=Audience())
        await app.storage.outbox.start(draft.id)
        print(f"database: {self.args.recipients:,} linked chats in {time.perf_counter() - started:.1f} s")
        api.rate_limit(per_second=self.args.rate, per_chat=1)  # what Telegram would refuse
        return app.storage, draft.id

    async def sender(self, api: FakeBotApi) -> asyncio.subprocess.Process:
        env = {**os.environ, "DATABASE_PATH": str(self.database), "NIK_PEPPER": DEMO_PEPPER,
               "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.base_url,
               "TELEGRAM_RATE": str(self.args.rate), "SENDER_CONCURRENCY": str(self.args.concurrency),
               "SENDER_LEASE_SECONDS": "2", "LOG_LEVEL": "WARNING"}
        profile = os.environ.get("BENCH_PROFILE", "").split()  # e.g. "-m cProfile -o /tmp/sender.prof"
        return await asyncio.create_subprocess_exec(sys.executable, *profile, "-m", "bot", "sender", env=env, cwd=ROOT)

    @staticmethod
    async def left(storage: Storage, broadcast_id: int) -> int:
        row = await storage.database.fetchone(  # type: ignore[attr-defined]
            "SELECT count(*) AS n FROM deliveries WHERE broadcast_id = ? AND state IN ('pending', 'sending')",
            (broadcast_id,))
        expanded = await storage.outbox.get(broadcast_id)
        return (row["n"] if row else 0) + (0 if expanded and expanded.expanded else 1)

    async def until_done(self, storage: Storage, broadcast_id: int, api: FakeBotApi) -> None:
        last = time.monotonic()
        while await self.left(storage, broadcast_id):
            await asyncio.sleep(0.5)
            if time.monotonic() - last > 30:  # len(api.calls): O(1); filtering them would stall the fake server
                print(f"  … {len(api.calls):,} calls", flush=True)
                last = time.monotonic()

    @staticmethod
    async def stop(process: asyncio.subprocess.Process) -> None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)

    @staticmethod
    def report_rate(api: FakeBotApi, cap: float) -> None:
        calls = api.calls_to("sendMessage")
        ok = sorted(c.at for c in calls if c.status == 200)
        refused = sum(1 for c in calls if c.status == 429)
        achieved = (len(ok) - 1) / (ok[-1] - ok[0]) if len(ok) > 1 else 0.0
        most, first = 0, 0
        for last, t in enumerate(ok):
            while t - ok[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        print(f"sent {len(ok):,} in {ok[-1] - ok[0]:.1f} s: achieved {achieved:.1f} msg/s vs cap {cap:g} "
              f"({100 * achieved / cap:.1f} %); busiest 1-s window {most}; 429 received {refused}")

    async def rate(self) -> None:
        async with FakeBotApi() as api:
            storage, broadcast_id = await self.setup(api)
            process = await self.sender(api)
            await self.until_done(storage, broadcast_id, api)
            peak, cpu = rss_peak_mb(process.pid), cpu_seconds(process.pid)
            await self.stop(process)
            self.report_rate(api, self.args.rate)
            received = Counter(str(c.chat_id) for c in api.sent())
            per_message = 1000 * cpu / max(1, len(received))
            print(f"recipients reached {len(received):,} of {self.args.recipients:,}; duplicates "
                  f"{sum(n - 1 for n in received.values())}; sender peak RSS {peak:.0f} MB; sender CPU"
                  f" {per_message:.2f} ms per message (~{1000 / per_message:,.0f} msg/s on a free core);"
                  f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            await storage.close()

    async def kill(self) -> None:
        async with FakeBotApi() as api:
            storage, broadcast_id = await self.setup(api)
            api.slow(0.005, method="sendMessage")
            process = await self.sender(api)
            await api.wait_for("sendMessage", count=self.args.recipients // 3, within=600)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            rows = await storage.database.fetchall(  # type: ignore[attr-defined]
                "SELECT c.external_id, d.state FROM deliveries d JOIN chats c ON c.id = d.chat_id"
                " WHERE d.broadcast_id = ?", (broadcast_id,))
            confirmed = {r["external_id"] for r in rows if r["state"] == "sent"}
            in_flight = sum(1 for r in rows if r["state"] == "sending")
            at_kill = len(api.sent())
            print(f"killed (SIGKILL) after {at_kill:,} received: {len(confirmed):,} recorded sent, {in_flight} in"
                  f" flight (concurrency {self.args.concurrency})")
            process = await self.sender(api)
            await self.until_done(storage, broadcast_id, api)
            await self.stop(process)
            received = Counter(str(c.chat_id) for c in api.sent())
            expected = {str(FIRST_CHAT + i) for i in range(1, self.args.recipients + 1)}
            duplicates = sum(n - 1 for n in received.values())
            confirmed_twice = sum(1 for chat in confirmed if received[chat] > 1)
            ambiguous = await storage.database.fetchone(  # type: ignore[attr-defined]
                "SELECT count(*) AS n FROM deliveries WHERE broadcast_id = ? AND ambiguous = 1", (broadcast_id,))
            print(f"after restart: losses {len(expected - set(received))}, duplicates {duplicates} (bound: in flight"
                  f" {in_flight}), confirmed sent twice {confirmed_twice}, flagged ambiguous"
                  f" {ambiguous['n'] if ambiguous else '?'}")
            self.report_rate(api, self.args.rate)
            await storage.close()

    async def memory(self) -> None:
        async with FakeBotApi() as api:
            storage, broadcast_id = await self.setup(api)
            process = await self.sender(api)
            started = time.monotonic()
            while time.monotonic() - started < self.args.seconds:
                if not await self.left(storage, broadcast_id):
                    break
                await asyncio.sleep(0.5)
            peak = rss_peak_mb(process.pid)
            expanded = await storage.outbox.get(broadcast_id)
            queued = expanded.queued if expanded else 0
            await self.stop(process)
            print(f"{self.args.recipients:,} recipients: {queued:,} deliveries queued"
                  f" ({'fully' if expanded and expanded.expanded else 'partly'} expanded), {len(api.sent()):,} sent in"
                  f" {time.monotonic() - started:.0f} s; sender peak RSS {peak:.1f} MB")
            await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["rate", "kill", "memory"])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="memory: how long the sender runs")
    args = parser.parse_args()
    bench = Bench(args)
    asyncio.run(getattr(bench, args.scenario)())


if __name__ == "__main__":
    main()
