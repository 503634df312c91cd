"""The HTTP client of the hot Bot API calls: bot/http_post.py against aiohttp's and httpx's, side by side.

    python -m tests.benchmarks http-clients [--requests 5000] [--concurrency 16] [--rounds 3]

Each client sends `--requests` sendMessage calls (a JSON body as the bot's answers are) to the lean fake Bot API,
which runs in a process of its own (tests/auxil/lean_bot_api.py), `--concurrency` at a time over at most as many
keep-alive connections, and reads each answer's status and body (the bot parses the JSON itself in every case,
so that is left out). Reported: this process's CPU per request (the client's cost) and requests/s, best of the
alternating rounds. httpx is configured as python-telegram-bot's HTTPXRequest configures it; aiohttp with one
ClientSession and a TCPConnector of `--concurrency` connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bot.http_post import PostClient
from tests.benchmarks.harness import header

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "1004:BENCH-http-clients"
BODY = json.dumps({"chat_id": 700000001, "parse_mode": "HTML", "text": "Nomor Kartu Prakerja: <tg-spoiler>5000 0000"
                   " 0000 0001</tg-spoiler>\nSaldo pelatihan: <b>Rp3.550.000</b> (per 12 Januari 2026 10.00 WIB)",
                   "reply_markup": {"inline_keyboard": [[{"text": "Menu utama", "callback_data": "go:menu"}]]}}
                  ).encode()

Send = Callable[[], Awaitable[int]]


async def lean(url: str, concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    client = PostClient(url, size=concurrency, timeout=15)

    async def send() -> int:
        status, _ = await client.post(BODY)
        return status

    return send, client.close


async def with_aiohttp(url: str, concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                    timeout=aiohttp.ClientTimeout(total=15))
    headers = {"Content-Type": "application/json"}

    async def send() -> int:
        async with session.post(url, data=BODY, headers=headers) as response:
            await response.read()
            return response.status

    return send, session.close


async def with_httpx(url: str, concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(timeout=httpx.Timeout(15), limits=limits, http1=True, http2=False)
    headers = {"Content-Type": "application/json"}

    async def send() -> int:
        response = await client.post(url, content=BODY, headers=headers)
        return response.status_code

    return send, client.aclose


CLIENTS = {"http_post": lean, "aiohttp": with_aiohttp, "httpx": with_httpx}


async def measure(make: Callable[..., Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]], url: str,
                  requests: int, concurrency: int) -> tuple[float, float]:
    """(requests/s, CPU seconds of this process per request) of one client."""
    send, close = await make(url, concurrency)
    try:
        await asyncio.gather(*(send() for _ in range(concurrency)))  # connections open, code warm
        left = requests

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                if await send() != 200:
                    raise SystemExit("the fake answered an error")

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await close()
    return requests / elapsed, used / requests


async def run(args: argparse.Namespace) -> dict[str, float]:
    header(f"http-clients: {args.requests:,} sendMessage calls, {args.concurrency} at a time, {args.rounds} rounds")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.auxil.lean_bot_api", TOKEN, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert server.stdout is not None
        port = int(await server.stdout.readline())
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in CLIENTS}
        for round_ in range(1, args.rounds + 1):
            line = []
            for name, make in CLIENTS.items():
                rate, cpu = await measure(make, url, args.requests, args.concurrency)
                results[name].append((rate, cpu))
                line.append(f"{name} {rate:,.0f}/s {cpu * 1e3:.3f} ms")
            print(f"round {round_}: " + "; ".join(line))
    finally:
        server.terminate()
        await server.wait()
    best = {name: (max(r for r, _ in rounds), min(c for _, c in rounds)) for name, rounds in results.items()}
    for name, (rate, cpu) in best.items():
        cpus = sorted(c for _, c in results[name])
        print(f"{name:10} best {rate:,.0f} requests/s, CPU {cpu * 1e3:.3f} ms a request"
              f" (rounds {cpus[0] * 1e3:.3f}-{cpus[-1] * 1e3:.3f})")
    lean_cpu = best["http_post"][1]
    print(f"CPU a request relative to http_post: aiohttp {best['aiohttp'][1] / lean_cpu:.1f} x,"
          f" httpx {best['httpx'][1] / lean_cpu:.1f} x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return {f"{name}_cpu_ms": cpu * 1e3 for name, (_, cpu) in best.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
