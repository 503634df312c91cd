"""`python -m bot serve` as a real process on loopback, and a bare HTTP/1.1 client that can misbehave.

    async with serve_process(tmp_path, wa_api, tg_api, nofile=256, WEB_READ_TIMEOUT_SECONDS="1") as served:
        status, seconds = await get(served.port, "/healthz")

The process talks to the fake platform servers of this test (their URLs in its environment); its log goes to a file
(`served.log`), its memory is read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.demo import DEMO_PEPPER
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import APP_SECRET, METRICS_TOKEN, VERIFY_TOKEN

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_SECRET = "serve-test-secret"
START_TIMEOUT_S = 30.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def memory_kib(self, field: str = "VmRSS") -> int:
        """VmRSS (now) or VmHWM (peak) of the server process, in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} for {self.process.pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _limit_files(nofile: int | None) -> Callable[[], None] | None:
    if nofile is None:
        return None

    def limit() -> None:  # in the child, before exec: as an operator's `ulimit -n`
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return limit


def _start(folder: Path, environment: dict[str, str], port: int, nofile: int | None) -> Served:
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=environment, cwd=folder,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=_limit_files(nofile))
    return Served(process, port, log_path)


@contextlib.asynccontextmanager
async def serve_process(folder: Path, wa: FakeWhatsAppApi, tg: FakeBotApi | None = None, *,
                        nofile: int | None = None, **env: str) -> AsyncIterator[Served]:
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   "DATABASE_PATH": str(folder / "serve.sqlite3"), "NIK_PEPPER": DEMO_PEPPER,
                   "WHATSAPP_TOKEN": wa.token, "WHATSAPP_PHONE_ID": wa.phone_id, "WHATSAPP_APP_SECRET": APP_SECRET,
                   "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_API_URL": wa.base_url,
                   "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "INFO", "METRICS_TOKEN": METRICS_TOKEN,
                   **env}
    if tg is not None:
        environment.update(TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.base_url,
                           TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET)
    served = _start(folder, environment, port, nofile)
    process = served.process
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (await get(port, "/healthz", within=1.0))[0] != 200:
            assert process.poll() is None, f"serve exited: {served.log}"
            assert time.monotonic() < deadline, f"serve did not answer /healthz: {served.log}"
            await asyncio.sleep(0.05)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def get(port: int, path: str, *, within: float = 2.0) -> tuple[int, float]:
    """(status, seconds) of one GET on a new connection; status 0 when it failed or timed out."""
    start = time.monotonic()
    writer = None
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            status = int((await reader.readline()).split()[1])
            await reader.read()
            return status, time.monotonic() - start
    except (OSError, TimeoutError, IndexError, ValueError):
        return 0, time.monotonic() - start
    finally:
        if writer is not None:
            writer.close()


async def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, body) of one GET on a new connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Connection: close\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode()


async def closed_by_server(reader: asyncio.StreamReader, wait: float) -> bool:
    """True once the server has closed the connection (EOF or reset) within `wait` seconds."""
    try:
        async with asyncio.timeout(wait):
            while await reader.read(65536):
                pass
            return True
    except (ConnectionError, OSError):
        return True
    except TimeoutError:
        return False
