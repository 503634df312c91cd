"""A broadcast to 10,000 recipients through the real `python -m bot sender`, at Telegram's 30 msg/s and at a paid
bot's 1,000 msg/s, against the fake Bot API on loopback, which answers 429 beyond the cap (overall, and 1 per second
per chat) as Telegram would.

    python -m tests.benchmarks broadcast [--recipients 10000] [--caps 30,1000] [--concurrency 16]

For each cap: the achieved rate over the cap (target >= 0.95), the busiest one-second window, 429s received,
duplicates and losses (target 0 and 0). The 30 msg/s run takes about 6 minutes for 10,000 recipients.
The database and the sender process come from tests/benchmarks/sender_load.py (`sender_load rate` is one cap alone;
`sender_load kill` is the kill -9 in the middle of a broadcast).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

from tests.auxil.fake_bot_api import FakeBotApi
from tests.benchmarks.harness import header, outcome
from tests.benchmarks.sender_load import FIRST_CHAT, Bench
from tests.benchmarks.webhook_load import cpu_seconds

RATE_TARGET = 0.95


async def one_cap(recipients: int, cap: float, concurrency: int) -> dict[str, float]:
    bench = Bench(argparse.Namespace(recipients=recipients, rate=cap, concurrency=concurrency, seconds=0))
    async with FakeBotApi() as api:
        storage, broadcast_id = await bench.setup(api)
        process = await bench.sender(api)
        started = time.perf_counter()
        launched = time.monotonic()  # the fake server stamps calls with time.monotonic()
        await bench.until_done(storage, broadcast_id, api)
        cpu = cpu_seconds(process.pid)
        busy = cpu / (time.perf_counter() - started)
        await bench.stop(process)
        await storage.close()
    Bench.report_rate(api, cap)  # achieved rate (first to last send), busiest one-second window, 429s
    ok = sorted(c.at for c in api.sent())
    share = (len(ok) - 1) / (ok[-1] - ok[0]) / cap if len(ok) > 1 else 0.0
    whole = len(ok) / (ok[-1] - launched) if ok else 0.0
    print(f"  from the sender's launch (Python start, getMe, audience expansion included): {whole:.1f} msg/s;"
          f" the sender process busy {busy:.0%} of one core, {1000 * cpu / max(1, len(ok)):.2f} ms CPU per message")
    received = Counter(str(c.chat_id) for c in api.sent())
    expected = {str(FIRST_CHAT + i) for i in range(1, recipients + 1)}
    duplicates = sum(n - 1 for n in received.values())
    losses = len(expected - set(received))
    met = outcome(f"share of the cap at {cap:g}/s; duplicates, losses", f"{share:.3f}; {duplicates}, {losses}",
                  f">= {RATE_TARGET}; 0, 0", share >= RATE_TARGET and duplicates == 0 and losses == 0)
    print(f"  {share:.3f} of the cap; duplicates {duplicates}, losses {losses}"
          f" (target >= {RATE_TARGET} of the cap, 0 and 0: {met})")
    return {"cap": cap, "share": share, "duplicates": duplicates, "losses": losses}


async def run(recipients: int, caps: list[float], concurrency: int) -> list[dict[str, float]]:
    header(f"broadcast: {recipients:,} recipients, caps {', '.join(f'{c:g}' for c in caps)} msg/s")
    return [await one_cap(recipients, cap, concurrency) for cap in caps]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--caps", default="30,1000", help="comma-separated messages per second")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    asyncio.run(run(args.recipients, [float(c) for c in args.caps.split(",")], args.concurrency))


if __name__ == "__main__":
    main()
