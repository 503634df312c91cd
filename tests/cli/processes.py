"""The bot as an operator runs it: `python -m bot ...` processes in a folder of their own, with an environment that
holds none of the runner's settings, talking to the fake platforms on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
START_WITHIN = 30.0  # seconds for a fresh interpreter to import everything and start (a loaded CI machine)
STOP_WITHIN = 15.0
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def clean_env(**settings: object) -> dict[str, str]:
    """The runner's environment without any of the bot's settings, plus `settings` (and PYTHONPATH to the repo)."""
    inherited = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    return {**inherited, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in settings.items()}}


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


async def start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as handle:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
                                                    stdout=handle, stderr=handle)


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, then the exit code (a clean stop is 0)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), STOP_WITHIN)


async def wait_healthy(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until `serve` answers /healthz with 200 (or the process ended: the log says why)."""
    async with httpx.AsyncClient() as client:
        for _ in range(int(START_WITHIN / 0.1)):
            if process.returncode is not None:
                raise AssertionError(f"serve ended with {process.returncode}: {text_of(log)}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"serve did not become healthy: {text_of(log)}")
