"""Issue 7's figures: several `serve` and `sender` processes on PostgreSQL against the fake Bot API. Run by hand:

    /work/venv/bin/python -m tests.benchmarks.postgres_scale full       # 3 serve + 3 senders: 2,000 journeys,
                                                                         # 20,000 recipients, kill -9 of a sender
    /work/venv/bin/python -m tests.benchmarks.postgres_scale scaling    # 1, 2, 4 processes: journeys/s, sends/s

`full` checks what the suite's small version checks (tests/postgres/test_processes.py), at full size, and prints
the figures: journeys answered in order, recipients reached, duplicates (and whether each was in flight at the
kill), losses, the combined send rate and the most sends in any one-second window against the cap.
`scaling` measures throughput with 1, 2 and 4 processes: journeys (updates/s, `serve` processes) and a broadcast
with no binding cap (sends/s, `sender` processes). Everything runs on this machine: PostgreSQL, the fake Bot API
(in this process) and the bot processes share its cores, which is what the figures show.
Needs PostgreSQL (TEST_DATABASE_URL or 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.demo import applicants
from storage import open_storage
from tests.auxil.cluster import Cluster, load_people, run_broadcast, run_journeys
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.postgres import fresh_schema, postgres_url

UNCAPPED = 1000.0  # the highest TELEGRAM_RATE (paid broadcasts), not reached here: sends go as fast as they can


async def cluster_run(serve: int, senders: int, *, chats: int, recipients: int, cap: float,
                      kill_at: float | None) -> tuple[object | None, object | None]:
    url = postgres_url()
    if url is None:
        raise SystemExit("PostgreSQL is not reachable: set TEST_DATABASE_URL")
    workdir = Path(tempfile.mkdtemp(prefix="prakerja-scale-"))
    async with fresh_schema(url, prefix="bench") as target, FakeBotApi() as api:
        storage = await open_storage(target, pool_size=2)
        people = list(applicants(chats, seed=77, waves=1)) if chats else []
        try:
            if people:
                await load_people(storage, people)
        finally:
            await storage.close()
        async with Cluster(target, api, workdir, rate=cap, lease=3.0, pool_size=6) as cluster:
            journeys = broadcast = None
            if serve:
                await cluster.start_serve(serve)
            if people:
                journeys = await run_journeys(cluster, people, streams=64, within=900)
            if recipients:
                await cluster.start_senders(senders)
                broadcast = await run_broadcast(cluster, recipients=recipients, kill_at=kill_at, within=1800)
            return journeys, broadcast


async def full(args: argparse.Namespace) -> None:
    started = time.monotonic()
    journeys, broadcast = await cluster_run(args.serve, args.senders, chats=args.chats, recipients=args.recipients,
                                            cap=args.cap, kill_at=args.kill)
    print(f"processes: {args.serve} serve (each with its own sender) + {args.senders} senders;"
          f" cap {args.cap:.0f} msg/s for all of them together")
    if journeys is not None:
        print(f"  journeys answered in order: {journeys.chats - len(journeys.out_of_order)}/{journeys.chats},"
              f" {journeys.updates_per_second:.0f} updates/s")
    if broadcast is not None:
        print(f"  reached {broadcast.reached}/{broadcast.recipients}, lost {broadcast.lost}, duplicates"
              f" {broadcast.duplicates} (in flight at the kill: {broadcast.ambiguous}; others:"
              f" {broadcast.duplicates_not_ambiguous}), killed after {broadcast.killed_at} sends")
        print(f"  rate {broadcast.rate:.0f} msg/s, most in one second {broadcast.max_per_second}"
              f" (cap {broadcast.cap:.0f}), 429s {broadcast.throttled}")
        print(f"  {per_item(broadcast.cpu, broadcast.reached)}")
    if journeys is not None:
        print(f"  journeys: {per_item(journeys.cpu, journeys.updates)}")
    print(f"total {time.monotonic() - started:.0f} s")


def per_item(cpu: dict[str, float], items: int) -> str:
    """CPU milliseconds per item, per part, and what 2 cores given to nothing else would sustain."""
    total = sum(cpu.values())
    parts = ", ".join(f"{role} {1000 * seconds / items:.1f}" for role, seconds in cpu.items())
    return f"CPU ms/item: {parts}; total {1000 * total / items:.1f} -> 2 cores: {2 * items / total:.0f}/s"


async def scaling(args: argparse.Namespace) -> None:
    for n in args.processes:
        journeys, _ = await cluster_run(n, 0, chats=args.chats, recipients=0, cap=UNCAPPED, kill_at=None)
        _, broadcast = await cluster_run(0, n, chats=0, recipients=args.recipients, cap=UNCAPPED, kill_at=None)
        assert journeys is not None and broadcast is not None
        print(f"{n} serve: journeys {journeys.updates_per_second:.0f} updates/s, in order"
              f" {journeys.chats - len(journeys.out_of_order)}/{journeys.chats};"
              f" {per_item(journeys.cpu, journeys.updates)}", flush=True)
        print(f"{n} senders: broadcast {broadcast.rate:.0f} sends/s, most in 1 s {broadcast.max_per_second},"
              f" lost {broadcast.lost}, duplicates {broadcast.duplicates};"
              f" {per_item(broadcast.cpu, broadcast.reached)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.postgres_scale")
    sub = parser.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("full", help="3 serve + 3 senders, 2,000 journeys, 20,000 recipients, kill -9")
    f.add_argument("--serve", type=int, default=3)
    f.add_argument("--senders", type=int, default=3)
    f.add_argument("--chats", type=int, default=2000)
    f.add_argument("--recipients", type=int, default=20_000)
    f.add_argument("--cap", type=float, default=1000.0, help="TELEGRAM_RATE (paid broadcasts: up to 1000)")
    f.add_argument("--kill", type=float, default=0.3, help="kill -9 a sender after this share was sent")
    s = sub.add_parser("scaling", help="throughput with 1, 2 and 4 processes")
    s.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    s.add_argument("--chats", type=int, default=1000)
    s.add_argument("--recipients", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(full(args) if args.mode == "full" else scaling(args))


if __name__ == "__main__":
    main()
