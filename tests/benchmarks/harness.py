"""What every benchmark shares: a Bot API that answers in-process (no HTTP), the machine, timing helpers.

`LocalBotApi` is tests/auxil/networking.py's `OfflineRequest` (a python-telegram-bot `BaseRequest`), except that it
answers: getMe, sendMessage (a Message), edits, deletions, callback answers. The bot under test
and its baseline (a bare PTB echo bot) run on the same one, so the ratio compares the bots, not the network.
It records what each chat received, in order, for the per-chat order check.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from telegram.request import RequestData

from tests.auxil.networking import OfflineRequest

TOKEN = "123456789:BENCH-local-token-no-network"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Asisten Prakerja", "username": "AsistenPrakerjaBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
LOCAL_API_URL = "http://127.0.0.1:9/bot"  # never contacted: LocalBotApi answers before any socket


class LocalBotApi(OfflineRequest):
    """Answers Bot API calls in-process. `received[chat_id]` lists the texts sent or edited into each chat."""

    def __init__(self, record: bool = True) -> None:
        self.record = record
        self.calls = 0
        self.received: dict[str, list[str]] = defaultdict(list)
        self._message_ids = itertools.count(1001)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        if request_data is not None:
            request_data.json_parameters  # noqa: B018  (the encoding an HTTP client would do: same cost for both bots)
        result: Any = True
        if name == "getMe":
            result = BOT_USER
        elif name in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            chat_id = str(params.get("chat_id"))
            text = str(params.get("text", ""))
            if self.record and name != "editMessageReplyMarkup":
                self.received[chat_id].append(text)
            message_id = int(params.get("message_id") or next(self._message_ids))
            result = {"message_id": message_id, "date": int(time.time()), "from": BOT_USER, "text": text,
                      "chat": {"id": int(chat_id), "type": "private", "first_name": "Pemohon"}}
        return 200, json.dumps({"ok": True, "result": result}).encode()


def machine() -> str:
    """nproc, CPU model, Python version: printed with every run (figures mean nothing without them)."""
    model = platform.processor() or "?"
    with _suppress_os_error():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}, {platform.system()} {platform.release()}"


@contextmanager
def _suppress_os_error() -> Iterator[None]:
    try:
        yield
    except OSError:
        pass


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with _suppress_os_error():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mib()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summary_ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"p50 {statistics.median(ordered) * 1000:.2f} ms, p99 {percentile(ordered, 0.99) * 1000:.2f} ms,"
            f" max {ordered[-1] * 1000:.2f} ms")


def header(title: str) -> None:
    print(f"== {title} ==")
    print(f"machine: {machine()}")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# Every target checked in this process: (benchmark, what, measured, target, verdict), for the summary table of
# `python -m tests.benchmarks all`.
OUTCOMES: list[tuple[str, str, str, str, str]] = []
current_benchmark = ""  # set by the runner before each benchmark


def outcome(what: str, measured: str, target: str, ok: bool) -> str:
    """`verdict(ok)`, recorded with what was measured against which target for the runner's summary."""
    OUTCOMES.append((current_benchmark, what, measured, target, verdict(ok)))
    return verdict(ok)
