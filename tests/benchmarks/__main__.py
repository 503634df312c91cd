"""`python -m tests.benchmarks NAME [options]`: run one benchmark; `python -m tests.benchmarks` lists them.

    python -m tests.benchmarks all [--quick]    every benchmark in turn, then a summary table of each target

Every benchmark runs on loopback only, is bounded in time, and prints its figures with, where it has one, the
baseline measured side by side in the same run. docs/benchmarks.md holds the latest figures. `all` runs each with
its defaults (about an hour in all), or with `--quick` with smaller sizes and one round (a smoke run of ~10 minutes:
its ratios are indicative only). Each runs in a process of its own, as when run alone; one that fails is reported
in the summary and the others still run.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import harness

# name -> (module, function taking argv, what it measures)
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "journey": ("tests.benchmarks.journey", "main", "2,000 applicants through the real Application vs echo bot"),
    "journey-concurrent": ("tests.benchmarks.journey", "main_concurrent",
                           "1,000 chats at once, per-chat order, vs echo bot"),
    "polling": ("tests.benchmarks.polling", "main",
                "`python -m bot run` long polling, 300 chats x 5 updates at once, vs PTB and aiogram echo bots"),
    "import": ("tests.benchmarks.import_csv", "main", "1,000,000-row CSV import vs sqlite3 .import"),
    "lookup": ("tests.benchmarks.lookup", "main", "support /cari by phone, card, NIK over 1,000,000 accounts"),
    "memory": ("tests.benchmarks.memory", "main", "peak RSS: idle, after the 1M import, sender 10k vs 1M queued"),
    "webhook": ("tests.benchmarks.webhook", "main", "`serve` under signed webhooks vs a bare Starlette app"),
    "broadcast": ("tests.benchmarks.broadcast", "main", "10,000 recipients at 30 and 1,000 msg/s caps (~6 min)"),
    "handoff": ("tests.benchmarks.handoff_relay", "main",
                "hand-off relay latency p50/p99, applicant <-> support topic (issue 8)"),
    "understanding": ("tests.benchmarks.understanding", "main",
                      "free text: CPU per message p50/p99 and the memory it adds (issue 13)"),
    "metrics": ("tests.benchmarks.metrics_load", "main",
                "answer p99 of `serve` at 2M deliveries, 0 vs 16 /metrics scrapers (issue 15.4)"),
}
# `all --quick`: each benchmark's options for a smoke run (smaller, one round).
QUICK: dict[str, list[str]] = {
    "journey": ["--applicants", "300", "--rounds", "1"],
    "journey-concurrent": ["--applicants", "300", "--rounds", "1"],
    "polling": ["--chats", "100", "--rounds", "1"],
    "import": ["--rows", "100000"],
    "lookup": ["--accounts", "100000", "--lookups", "200"],
    "memory": ["--accounts", "100000", "--seconds", "10"],
    "webhook": ["--requests", "1500", "--seconds", "3"],
    "broadcast": ["--recipients", "600"],
    "handoff": ["--tickets", "5", "--messages", "40"],
    "understanding": ["--rounds", "3"],
    "metrics": ["--deliveries", "200000", "--seconds", "5", "--rounds", "1"],
}
OUTCOMES_ENV = "BENCH_OUTCOMES"  # where a benchmark run by `all` writes the targets it checked (JSON)
NOT_AVAILABLE = 3  # exit code of a benchmark whose module does not exist yet
# Also by hand, not in `all`: issue 7's several processes on PostgreSQL, and the sender alone.
MORE: dict[str, tuple[str, str, str]] = {
    "postgres-scale": ("tests.benchmarks.postgres_scale", "main", "3 serve + 3 senders on PostgreSQL (needs a server)"),
    "sender": ("tests.benchmarks.sender_load", "main", "the sender alone: rate | kill | memory (see its --help)"),
    "http-clients": ("tests.benchmarks.http_clients", "main",
                     "bot/http_post.py vs aiohttp vs httpx: CPU per Bot API call (needs the bench extra)"),
}


def _load(name: str) -> Callable[[list[str]], object] | None:
    module_name, function, _ = {**BENCHMARKS, **MORE}[name]
    if importlib.util.find_spec(module_name) is None:
        return None
    return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]


def _usage() -> int:
    print(__doc__)
    for name, (module, _, what) in BENCHMARKS.items():
        missing = "" if importlib.util.find_spec(module) else "  (not written yet)"
        print(f"  {name:20} {what}{missing}")
    print(f"  {'all':20} every benchmark above, one after another, then a summary table (--quick: a smoke run)")
    for name, (_, _, what) in MORE.items():
        print(f"  {name:20} {what}")
    return 2


def _run(name: str, argv: list[str]) -> str:
    """Run one benchmark in this process; how it ended: "ran", "failed: ...", or "not available"."""
    run = _load(name)
    if run is None:
        print(f"== {name}: not available ({({**BENCHMARKS, **MORE})[name][0]} does not exist yet) ==\n")
        return "not available"
    harness.current_benchmark = name
    sys.argv = [f"python -m tests.benchmarks {name}", *argv]  # for a main() that reads sys.argv itself
    try:
        if inspect.signature(run).parameters:
            run(argv)
        else:
            run()  # type: ignore[call-arg]
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        return f"failed: {type(exc).__name__}: {str(exc)[:60]}"
    finally:
        print(flush=True)
        if where := os.environ.get(OUTCOMES_ENV):  # for `all`, which ran this one in a process of its own
            Path(where).write_text(json.dumps(harness.OUTCOMES))
    return "ran"


def _run_apart(name: str, argv: list[str], folder: Path) -> tuple[str, float]:
    """Run one benchmark as `python -m tests.benchmarks NAME` in a process of its own (so none inherits what an
    earlier one imported or left in memory); how it ended, and its seconds. Its targets join `harness.OUTCOMES`."""
    where = folder / f"{name}.json"
    started = time.monotonic()
    code = subprocess.run([sys.executable, "-m", "tests.benchmarks", name, *argv],
                          env={**os.environ, OUTCOMES_ENV: str(where)}, check=False).returncode
    seconds = time.monotonic() - started
    if where.exists():
        harness.OUTCOMES.extend(tuple(o) for o in json.loads(where.read_text()))
    if code == 0:
        return "ran", seconds
    return ("not available" if code == NOT_AVAILABLE else f"failed: exit code {code}"), seconds


def summary(ended: dict[str, tuple[str, float]]) -> str:
    """The table of every target checked in the run: benchmark, what, measured, target, verdict, and each
    benchmark's time."""
    rows = [("benchmark", "what", "measured", "target", "verdict", "time")]
    for name, (how, seconds) in ended.items():
        checked = [(*o, "") for o in harness.OUTCOMES if o[0] == name]
        if how != "ran" or not checked:
            rows.append((name, how if how != "ran" else "(no target: see its output)", "", "", "", ""))
        rows.extend(checked)
        index = len(rows) - len(checked) - (0 if checked and how == "ran" else 1)
        rows[index] = (*rows[index][:5], f"{seconds:.0f} s")
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    missed = sum(1 for o in harness.OUTCOMES if o[4] != "met")
    lines.append(f"{len(harness.OUTCOMES)} targets checked, {missed} missed")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        return _usage()
    name, rest = argv[0], argv[1:]
    if name != "all" and name not in BENCHMARKS and name not in MORE:
        print(f"unknown benchmark {name!r}", file=sys.stderr)
        return _usage()
    if name != "all":
        how = _run(name, rest)
        return 0 if how == "ran" else NOT_AVAILABLE if how == "not available" else 1
    quick = "--quick" in rest
    ended: dict[str, tuple[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="prakerja-bench-all-") as folder:
        for each in BENCHMARKS:
            ended[each] = _run_apart(each, QUICK[each] if quick else [], Path(folder))
    print(f"== summary{' (--quick: smaller sizes, one round; indicative only)' if quick else ''} ==")
    print(summary(ended))
    return 0 if all(how == "ran" for how, _ in ended.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
