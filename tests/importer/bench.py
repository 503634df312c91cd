"""Import speed: `python -m tests.importer.bench [--rows N]` (default 100,000).

Writes a demo file, then times side by side, in one run (the machine is shared: absolute times alone prove little):
the `sqlite3` CLI's `.import` of the same file into a bare table (the baseline, when the CLI is installed), our
import into a fresh database (validation + NIK HMAC + upsert), and the same file again (all unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bot.importer import import_lines, write_demo_file
from storage import open_storage

PEPPER = "benchmark-pepper-0123456789"


async def _import(database: Path, path: Path) -> float:
    storage = await open_storage(database)
    try:
        started = time.perf_counter()
        with path.open("rb") as handle:
            await import_lines(storage, handle, PEPPER, processes=os.cpu_count() or 1)  # as `python -m bot import`
        return time.perf_counter() - started
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        path = Path(folder) / "registry.csv"
        write_demo_file(path, rows, 2021)
        baseline = None
        if sqlite3_cli := shutil.which("sqlite3"):
            started = time.perf_counter()
            subprocess.run([sqlite3_cli, str(Path(folder) / "bare.sqlite3"), ".mode csv", f".import {path} bare"],
                           check=True)
            baseline = time.perf_counter() - started
        fresh = asyncio.run(_import(Path(folder) / "bot.sqlite3", path))
        again = asyncio.run(_import(Path(folder) / "bot.sqlite3", path))
    print(f"rows: {rows:,}")
    if baseline is not None:
        print(f"sqlite3 .import (baseline): {baseline:.2f} s, {rows / baseline:,.0f} rows/s")
    for label, seconds in (("import, fresh database", fresh), ("import again, unchanged", again)):
        ratio = f", {seconds / baseline:.1f} x baseline" if baseline else ""
        print(f"{label}: {seconds:.2f} s, {rows / seconds:,.0f} rows/s{ratio}")


if __name__ == "__main__":
    main()
