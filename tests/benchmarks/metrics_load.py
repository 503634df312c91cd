"""Does scraping /metrics slow the answers? `python -m bot serve` on a database of 2,000,000 outbox deliveries,
answering Telegram updates at a steady rate, with 0 and then 16 Prometheus scrapers (issue 15.4).

    python -m tests.benchmarks metrics [--deliveries 2000000] [--rate 30] [--seconds 15] [--rounds 3]
                                       [--scrapers 16] [--interval 1.0] [--code DIR]

The bot is a real process on 127.0.0.1 with the fake Bot API in this process. Each update comes from a new user
(`/start`, as the webhook benchmark sends them) at `--rate` per second; its answer time runs from the POST to the
moment the fake Bot API receives the bot's sendMessage for that chat. `--rounds` rounds of two phases of `--seconds`
each, alternating so that the machine's other work falls on both alike: no scrapers, then `--scrapers` scrapers
each GETting /metrics every `--interval` seconds (with the bearer token), from a process of their own. Printed:
answer p50/p99/max of each phase and of all phases of each kind, the ratio of p99 with scrapers to p99 without
(target <= 1.10), the scrapes' own latency, and the database reads the page made.

Before issue 15.4 every scrape ran `GROUP BY state` over all deliveries on the connection that answers (0.5 s at
2M rows). `--code /path/to/an/older/checkout` runs that checkout's `serve` instead, for the figures before.
The database is built once per size in the temp folder (about a minute for 2M rows) and copied for each run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.demo import DEMO_PEPPER
from bot.web.security import TELEGRAM_SECRET_HEADER
from storage import open_storage
from tests.auxil.fake_bot_api import FakeBotApi
from tests.benchmarks.harness import header, outcome, percentile, summary_ms
from tests.benchmarks.webhook import TELEGRAM_SECRET, telegram_update
from tests.benchmarks.webhook_load import cpu_seconds, free_port

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "bench-metrics-token-not-real"
RATIO_TARGET = 1.10
# The bot's send budget (issue 15.2) at a paid bot's cap: at 30 msg/s, 30 answers a second would wait for it, and
# the benchmark would time the budget instead of the scrapes.
TELEGRAM_RATE = 1000
BROADCASTS = 10  # deliveries = BROADCASTS x chats
STATES = ("sent", "sent", "sent", "sent", "sent", "sent", "failed", "blocked")  # nothing pending: the sender idles
START_TIMEOUT_S = 120.0
ANSWER_TIMEOUT_S = 30.0


def build_database(path: Path, deliveries: int) -> None:
    """A migrated database holding `deliveries` finished outbox deliveries over BROADCASTS broadcasts."""
    asyncio.run(_migrate(path))
    chats = max(1, deliveries // BROADCASTS)
    now = "2026-01-01T00:00:00+00:00"
    started = time.perf_counter()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executemany("INSERT INTO chats (id, channel, external_id, user_id, first_seen, last_seen)"
                       " VALUES (?, 'telegram', ?, ?, ?, ?)",
                       ((i, str(8_000_000_000 + i), str(8_000_000_000 + i), now, now) for i in range(1, chats + 1)))
        db.executemany("INSERT INTO broadcasts (id, kind, priority, body, state, created_by, created_at)"
                       " VALUES (?, 'broadcast', 3, 'Pengumuman', 'done', 'bench', ?)",
                       ((b, now) for b in range(1, BROADCASTS + 1)))
        db.executemany("INSERT INTO deliveries (broadcast_id, chat_id, person, channel, state, next_attempt_at,"
                       " sent_at) VALUES (?, ?, ?, 'telegram', ?, ?, ?)",
                       ((b, c, c, STATES[(b + c) % len(STATES)], now, now)
                        for b in range(1, BROADCASTS + 1) for c in range(1, chats + 1)))
    print(f"built {deliveries:,} deliveries in {time.perf_counter() - started:.0f} s")


async def _migrate(path: Path) -> None:
    storage = await open_storage(path)
    await storage.close()


def database(deliveries: int) -> Path:
    """The built database for `deliveries` (cached in the temp folder)."""
    path = Path(tempfile.gettempdir()) / f"prakerja-bench-metrics-{deliveries}.sqlite3"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for leftover in partial.parent.glob(partial.name + "*"):
            leftover.unlink()
        build_database(partial, deliveries)
        with sqlite3.connect(partial) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        partial.rename(path)
        for leftover in partial.parent.glob(partial.name + "-*"):  # its -wal and -shm, empty after the checkpoint
            leftover.unlink()
    return path


def start_bot(tg: FakeBotApi, port: int, folder: Path, code: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")])),
           "DATABASE_PATH": str(folder / "bench.sqlite3"), "NIK_PEPPER": DEMO_PEPPER,
           "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": tg.base_url,
           "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "METRICS_TOKEN": METRICS_TOKEN,
           "TELEGRAM_RATE": str(TELEGRAM_RATE),
           "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=folder)


async def request(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request on its own connection: (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        response = await reader.read()
    finally:
        writer.close()
    status, _, rest = response.partition(b"\r\n")
    return int(status.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if (await request(port, "GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"))[0] == 200:
                return
        except (OSError, IndexError, ValueError):
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("serve did not start")


class Load:
    """Updates from new users at a steady rate; each one's answer time, from the fake Bot API's record."""

    def __init__(self, port: int, api: FakeBotApi, first_user: int) -> None:
        self.port, self.api, self.next_user = port, api, first_user

    async def run(self, rate: float, seconds: float) -> list[float]:
        sent: dict[int, float] = {}
        start = time.monotonic() + 0.1
        posts = []
        for i in range(int(rate * seconds)):
            if (wait := start + i / rate - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            user, self.next_user = self.next_user, self.next_user + 1
            body = telegram_update(user)
            sent[user] = time.monotonic()
            posts.append(asyncio.create_task(request(self.port, (
                f"POST /telegram/webhook HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                f"{TELEGRAM_SECRET_HEADER}: {TELEGRAM_SECRET}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"), body)))
        await asyncio.gather(*posts)
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        answered: dict[int, float] = {}
        while len(answered) < len(sent) and time.monotonic() < deadline:
            for call in self.api.calls:
                if call.method == "sendMessage" and call.chat_id in sent and call.chat_id not in answered:
                    answered[int(call.chat_id)] = call.at  # type: ignore[arg-type]
            await asyncio.sleep(0.05)
        if len(answered) < len(sent):
            print(f"  ! {len(sent) - len(answered)} of {len(sent)} updates unanswered after {ANSWER_TIMEOUT_S:.0f} s")
        return [answered[user] - at for user, at in sent.items() if user in answered]


async def scrape_loop(port: int, interval: float, until: float, latencies: list[float], statuses: list[int]) -> None:
    head = (f"GET /metrics HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {METRICS_TOKEN}\r\n"
            "Connection: close\r\n\r\n")
    await asyncio.sleep(random.uniform(0, interval))  # independent scrapers: not all in the same instant
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            status, _ = await request(port, head)
        except (OSError, IndexError, ValueError):
            status = 0
        latencies.append(time.monotonic() - started)
        statuses.append(status)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


def start_scrapers(port: int, scrapers: int, interval: float, seconds: float) -> subprocess.Popen[bytes]:
    """The scrapers in a process of their own: in this one they would take the GIL from the load generator and the
    fake Bot API, whose clocks time the answers."""
    code = ("from tests.benchmarks.metrics_load import scrapers_main;"
            f" scrapers_main({port}, {scrapers}, {interval}, {seconds})")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


async def finish_scrapers(process: subprocess.Popen[bytes]) -> tuple[list[float], list[int]]:
    out, _ = await asyncio.to_thread(process.communicate)
    result = json.loads(out)
    return result["latencies"], result["statuses"]


def scrapers_main(port: int, scrapers: int, interval: float, seconds: float) -> None:
    """In the scrapers' process: scrape until `seconds` have passed, print what was seen as JSON."""
    latencies: list[float] = []
    statuses: list[int] = []

    async def scrape() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(scrape_loop(port, interval, until, latencies, statuses) for _ in range(scrapers)))

    asyncio.run(scrape())
    print(json.dumps({"latencies": latencies, "statuses": statuses}))


async def figure_reads(port: int) -> str:
    """What the page says about its own database reads (the age of its figures), if it says it."""
    _, body = await request(port, f"GET /metrics HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {METRICS_TOKEN}\r\n"
                                  "Connection: close\r\n\r\n")
    lines = [line for line in body.decode(errors="replace").splitlines()
             if line.startswith(("prakerja_metrics_figure", 'prakerja_outbox_deliveries{state="sent"}'))]
    return "; ".join(lines) or "(no figures on the page)"


async def run(source: Path, deliveries: int, rate: float, seconds: float, rounds: int, scrapers: int,
              interval: float, code: Path) -> None:
    header(f"metrics: answer times of `serve` at {rate:g} updates/s, {deliveries:,} deliveries stored, 0 vs"
           f" {scrapers} scrapers every {interval:g} s")
    print(f"code under test: {code}; load average {os.getloadavg()[0]:.2f}")
    port = free_port()
    async with FakeBotApi(max_poll_wait=0.1) as api:
        with tempfile.TemporaryDirectory(prefix="prakerja-bench-") as folder:
            shutil.copy(source, Path(folder) / "bench.sqlite3")
            bot = start_bot(api, port, Path(folder), code)
            try:
                await wait_ready(port, time.monotonic() + START_TIMEOUT_S)
                load = Load(port, api, 30_000_000)
                await load.run(rate, 2.0)  # warm-up: imports, caches, the first chats
                results: dict[bool, list[float]] = {False: [], True: []}
                busy: dict[bool, list[float]] = {False: [], True: []}
                scrape_latencies: list[float] = []
                scrape_statuses: list[int] = []
                for round_number in range(1, rounds + 1):
                    for with_scrapers in (False, True):
                        before = cpu_seconds(bot.pid)
                        scraping = start_scrapers(port, scrapers, interval, seconds + 0.1) if with_scrapers else None
                        answers = await load.run(rate, seconds)
                        if scraping is not None:
                            latencies, statuses = await finish_scrapers(scraping)
                            scrape_latencies += latencies
                            scrape_statuses += statuses
                        results[with_scrapers] += answers
                        busy[with_scrapers].append((cpu_seconds(bot.pid) - before) / seconds)
                        label = f"with {scrapers} scrapers" if with_scrapers else "without scrapers"
                        print(f"round {round_number}, {label:18}: answers {summary_ms(answers)}")
                for with_scrapers in (False, True):
                    label = f"with {scrapers} scrapers" if with_scrapers else "without scrapers"
                    print(f"all rounds, {label:18}: answers {summary_ms(results[with_scrapers])}"
                          f" ({len(results[with_scrapers])} answers; the bot busy"
                          f" {sum(busy[with_scrapers]) / rounds:.0%} of a core)")
                print(f"scrapes: {len(scrape_latencies)} (statuses {sorted(set(scrape_statuses))}),"
                      f" {summary_ms(scrape_latencies) if scrape_latencies else '-'}")
                print(f"the page: {await figure_reads(port)}")
            finally:
                bot.send_signal(signal.SIGINT)
                bot.wait(timeout=30)
    ratio = percentile(sorted(results[True]), 0.99) / percentile(sorted(results[False]), 0.99)
    met = outcome(f"answer p99, {scrapers} scrapers / none", f"{ratio:.2f} x", f"<= {RATIO_TARGET:.2f} x",
                  ratio <= RATIO_TARGET)
    print(f"answer p99 with {scrapers} scrapers / without: {ratio:.2f} (target <= {RATIO_TARGET:.2f}: {met})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--rate", type=float, default=30.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (without, with scrapers)")
    parser.add_argument("--scrapers", type=int, default=16)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one scraper's scrapes")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose `serve` runs")
    args = parser.parse_args(argv)
    source = database(args.deliveries)  # built before the event loop: the migration runs its own
    asyncio.run(run(source, args.deliveries, args.rate, args.seconds, args.rounds, args.scrapers, args.interval,
                    args.code.resolve()))
