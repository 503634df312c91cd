"""Prometheus metrics written by hand (text exposition format 0.0.4): counters, a histogram, scrape-time gauges.

Small enough not to need prometheus_client and its process-global registry: each web app owns a `Metrics`, the
channels and the sender get it passed in. Counts that must survive a restart (link failures, lock-outs, outbox
states) are read from the database at scrape time instead.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from storage.models import TicketSummary

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


class Histogram:
    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self.buckets = tuple(buckets)
        self._series: dict[Labels, list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            series = self._series.setdefault(labels, [0.0] * (len(self.buckets) + 2))
            index = bisect.bisect_left(self.buckets, value)
            if index < len(self.buckets):
                series[index] += 1
            series[-2] += value
            series[-1] += 1

    @contextmanager
    def time(self, *labels: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - start, *labels)

    def count(self, *labels: str) -> float:
        series = self._series.get(labels)
        return series[-1] if series else 0.0

    def render(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, series in sorted(self._series.items()):
            cumulative = 0.0
            for bound, n in zip(self.buckets, series, strict=False):
                cumulative += n
                le = 'le="' + _number(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {_number(cumulative)}"
            inf = 'le="+Inf"'
            yield f"{self.name}_bucket{_labels(self.labelnames, labels, inf)} {_number(series[-1])}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(series[-2])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {_number(series[-1])}"


def gauge(name: str, help_text: str, values: dict[Labels, float], labelnames: Sequence[str] = ()) -> Iterator[str]:
    """A gauge whose values are read at scrape time."""
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} gauge"
    for labels, value in sorted(values.items()):
        yield f"{name}{_labels(labelnames, labels)} {_number(value)}"


class Metrics:
    """The metrics one process exposes on /metrics."""

    def __init__(self) -> None:
        self.updates = Counter("prakerja_updates_total", "Updates handled, by channel and handler.",
                               ("channel", "handler"))
        self.latency = Histogram("prakerja_handler_seconds", "Time the router took for one update.", ("channel",))
        self.webhooks = Counter("prakerja_webhook_requests_total", "Webhook requests, by channel and outcome.",
                                ("channel", "outcome"))
        self.rate_limited = Counter("prakerja_rate_limited_total",
                                    "Sends refused by a platform's rate limit (429, 130429, 131056).", ("channel",))
        self.send_errors = Counter("prakerja_send_errors_total", "Sends that failed, by channel and error.",
                                   ("channel", "error"))
        self.statuses = Counter("prakerja_whatsapp_status_total", "WhatsApp status callbacks, by status.",
                                ("status",))
        self.templates = Counter("prakerja_whatsapp_templates_total",
                                 "Messages sent as templates because the 24-hour window was closed.")
        self.connections_closed = Counter(
            "prakerja_http_connections_closed_total",
            "Connections the web server closed: slow (no whole request in time), evicted (over the connection cap),"
            " over_capacity (every connection busy).", ("reason",))

    def counters(self) -> Iterator[str]:
        for metric in (self.updates, self.latency, self.webhooks, self.rate_limited, self.send_errors,
                       self.statuses, self.templates, self.connections_closed):
            yield from metric.render()


def ticket_gauges(summary: TicketSummary, now: datetime) -> Iterator[str]:
    """The hand-off's figures (issue 8): open and waiting tickets, the longest wait, messages waiting for the
    support group, and the staff's open and recently closed tickets, summed. No label names a person: who answered
    what is for admins in /tiket, not for whoever reads the monitoring."""
    yield from gauge("prakerja_tickets_open", "Support tickets open.", {(): summary.open})
    yield from gauge("prakerja_tickets_waiting", "Open tickets whose applicant waits for an answer.",
                     {(): summary.waiting})
    oldest = (now - summary.oldest_wait).total_seconds() if summary.oldest_wait else 0.0
    yield from gauge("prakerja_ticket_oldest_wait_seconds", "How long the longest-waiting applicant has waited.",
                     {(): max(0.0, oldest)})
    yield from gauge("prakerja_ticket_messages_queued", "Applicant messages not yet posted in the support group.",
                     {(): summary.queued_posts})
    yield from gauge("prakerja_support_group_unavailable", "1 while the bot cannot use the support group.",
                     {(): 1 if summary.desk_removed_at else 0})
    answered: dict[Labels, float] = {("open",): sum(load.open for load in summary.staff),
                ("closed_7d",): sum(load.closed for load in summary.staff)}
    yield from gauge("prakerja_tickets_answered", "Tickets a staff member answered, by state (all staff together).",
                     answered, ("state",))
    yield from gauge("prakerja_support_staff_active", "Staff members with open or recently closed tickets.",
                     {(): len(summary.staff)})
