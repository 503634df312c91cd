"""Load on `python -m bot serve`: signed WhatsApp webhooks per second, and latency to the 200. Run by hand:

    /work/venv/bin/python -m tests.benchmarks.webhook_load --requests 6000 --concurrency 32

It starts the real server (`python -m bot serve`, a subprocess, its own core) on 127.0.0.1 against a fresh SQLite
file and the fake WhatsApp Cloud API (in this process, also on loopback), then posts signed payloads: one message
to every three status callbacks (each send brings back sent/delivered/read), from 500 synthetic users. It reports
requests/s and p50/p99 latency to the answer, then how long the background handling took to drain (every
message answered through the fake API). Loopback only; bounded by --requests and --deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.demo import DEMO_PEPPER
from bot.web.security import SIGNATURE_HEADER, sign
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.user import fixture

APP_SECRET = "bench-app-secret"
USERS = 500
STATUS_PER_MESSAGE = int(os.environ.get("BENCH_STATUS_PER_MESSAGE", "3"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell a busy server from a slow client."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bodies(count: int) -> list[tuple[bytes, bool]]:
    """(signed body, is a message) in the mix: 1 message, then 3 statuses."""
    text, status = fixture("text"), fixture("status")
    out = []
    for i in range(count):
        user = f"62811{i % USERS:08d}"
        if i % (STATUS_PER_MESSAGE + 1) == 0:
            value = text["entry"][0]["changes"][0]["value"]
            value["contacts"][0]["wa_id"] = user
            value["messages"][0].update({"from": user, "id": f"wamid.BENCH{i:08d}", "timestamp": str(int(time.time())),
                                         "text": {"body": "menu"}})
            out.append((json.dumps(text).encode(), True))
        else:
            value = status["entry"][0]["changes"][0]["value"]
            value["statuses"][0].update({"id": f"wamid.SENT{i:08d}", "recipient_id": user,
                                         "status": ("sent", "delivered", "read")[i % 3]})
            out.append((json.dumps(status).encode(), False))
    return out



Request = tuple[str, bytes, dict[str, str]]  # path, body, extra headers


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request) -> int:
    """One HTTP/1.1 POST on a keep-alive connection (a bare client: it must cost far less than the servers)."""
    path, body, extra = request
    head = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
    writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(status_line.split()[1])

async def wait_ready(url: str, deadline: float) -> None:
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url + "/metrics")).status_code in (200, 404):  # up (404: no METRICS_TOKEN)
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start")


def start_server(api: FakeWhatsAppApi, port: int) -> subprocess.Popen[bytes]:
    """`python -m bot serve` on a fresh database in a temporary folder (BENCH_PROFILE: interpreter options)."""
    folder = Path(tempfile.mkdtemp(prefix="prakerja-bench-"))
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root, "DATABASE_PATH": str(folder / "bench.sqlite3"), "NIK_PEPPER": DEMO_PEPPER,
           "WHATSAPP_TOKEN": api.token, "WHATSAPP_PHONE_ID": api.phone_id, "WHATSAPP_APP_SECRET": APP_SECRET,
           "WHATSAPP_VERIFY_TOKEN": "bench", "WHATSAPP_API_URL": api.base_url, "WHATSAPP_RATE": "1000",
           "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": ""}
    command = [sys.executable, *os.environ.get("BENCH_PROFILE", "").split(), "-m", "bot", "serve"]
    return subprocess.Popen(command, env=env, cwd=folder)


async def run(requests: int, concurrency: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    async with FakeWhatsAppApi() as api:
        port = free_port()
        server = await asyncio.to_thread(start_server, api, port)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, deadline)
            load = bodies(requests)
            messages = sum(1 for _, is_message in load if is_message)
            latencies: list[float] = []
            statuses: dict[int, int] = {}
            queue: asyncio.Queue[tuple[bytes, bool]] = asyncio.Queue()
            for item in load:
                queue.put_nowait(item)

            async def worker() -> None:
                # A bare HTTP/1.1 keep-alive connection: the client must cost far less than the server it measures.
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    while not queue.empty() and time.monotonic() < deadline:
                        body, _ = queue.get_nowait()
                        request = ("/whatsapp/webhook", body, {SIGNATURE_HEADER: sign(body, APP_SECRET)})
                        start = time.perf_counter()
                        code = await post(reader, writer, request)
                        latencies.append(time.perf_counter() - start)
                        statuses[code] = statuses.get(code, 0) + 1
                finally:
                    writer.close()

            cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            server_cpu = cpu_seconds(server.pid) - cpu_before
            latencies.sort()
            print(f"requests: {len(latencies)} ({messages} messages, {len(latencies) - messages} statuses),"
                  f" concurrency {concurrency}, answers {statuses}")
            print(f"webhooks/s to the answer: {len(latencies) / elapsed:.0f}"
                  f" (server busy {server_cpu / elapsed:.0%} of one core meanwhile)")
            print(f"latency to the answer: p50 {statistics.median(latencies) * 1000:.1f} ms,"
                  f" p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms,"
                  f" max {latencies[-1] * 1000:.1f} ms")
            try:
                await api.wait_for(messages, within=max(1.0, deadline - time.monotonic()))
                drained = time.perf_counter() - started
                print(f"background: {messages} messages answered {drained:.1f} s after the first request"
                      f" ({messages / drained:.0f} messages/s end to end)")
            except TimeoutError:
                print(f"background: only {len(api.sent)} of {messages} answered before the deadline")
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--deadline", type=float, default=120.0, help="stop after this many seconds in any case")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency, args.deadline))


if __name__ == "__main__":
    main()
