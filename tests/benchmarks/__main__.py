"""`python -m tests.benchmarks NAME [options]`: run one benchmark (or `all`); `python -m tests.benchmarks` lists them.

Every benchmark runs on loopback only, is bounded in time, and prints its figures with, where it has one, the
baseline measured side by side in the same run. docs/benchmarks.md holds the latest figures.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable

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
    print(f"  {'all':20} every benchmark above, one after another, default options")
    for name, (_, _, what) in MORE.items():
        print(f"  {name:20} {what}")
    return 2


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        return _usage()
    name, rest = argv[0], argv[1:]
    names = list(BENCHMARKS) if name == "all" else [name]
    if name != "all" and name not in BENCHMARKS and name not in MORE:
        print(f"unknown benchmark {name!r}", file=sys.stderr)
        return _usage()
    for each in names:
        run = _load(each)
        if run is None:
            print(f"== {each}: not available ({({**BENCHMARKS, **MORE})[each][0]} does not exist yet) ==\n")
            continue
        sys.argv = [f"python -m tests.benchmarks {each}", *rest]  # for a main() that reads sys.argv itself
        if inspect.signature(run).parameters:
            run(rest)
        else:
            run()  # type: ignore[call-arg]
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
