"""Several bot processes on one PostgreSQL database, against the fake Bot API: the scale-out test and benchmark.

    async with Cluster(url, api, workdir) as cluster:       # url: a PostgreSQL URL (a fresh schema)
        ports = await cluster.start_serve(3)                # `python -m bot serve` x3 (webhooks + its sender)
        await cluster.start_senders(3)                      # `python -m bot sender` x3
        journeys = await run_journeys(cluster, people, api)  # Telegram-shaped updates posted round-robin
        report = await run_broadcast(cluster, api, recipients=2000, kill_at=0.3)

The processes are real (`subprocess`), so `kill -9` is real. The test process plays Telegram: it posts a chat's
updates one after another, each to the next process in turn and only after the 200 for the previous one (what
Telegram does for a chat), many chats at once. The fake Bot API records what each chat received, in order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.demo import DEMO_PEPPER, DemoApplicant
from bot.web.security import TELEGRAM_SECRET_HEADER
from handlers.identity import hash_nik
from storage import ImportRow, Storage, open_storage
from storage.models import Audience, BroadcastKind, WaveResult
from tests.auxil.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "cluster-secret"
JOURNEY_WAVE = 1
BROADCAST_WAVE = 9
JOURNEY_CHAT_BASE = 10_000_000  # Telegram user (= chat) ids of the journeys' applicants
BROADCAST_CHAT_BASE = 30_000_000  # chats linked in bulk for the broadcast
BROADCAST_TEXT = "Pengumuman uji skala"
# What each step of a journey answers, in order (a reply to a step processed out of order would not match).
JOURNEY_MARKERS = ("Asisten Prakerja", "Bagikan nomor HP saya", "16 digit NIK", "Berhasil", "Gelombang 1")
READY_TIMEOUT_S = 60.0
PORT_ATTEMPTS = 5
WEBHOOK_TRIES = 3  # deliveries of one update (Telegram retries a failed one)
APPLICATION_NAME = "prakerja-cluster"  # the cluster's PostgreSQL connections, for their CPU time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    role: str  # "serve" | "sender"
    proc: asyncio.subprocess.Process
    port: int | None = None
    cpu: float = 0.0  # CPU seconds when last looked at
    log: Path | None = None  # where its output goes

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Cluster:
    url: str
    api: FakeBotApi
    workdir: Path
    rate: float = 1000.0  # TELEGRAM_RATE of every sender: the cap their sum must keep
    lease: float = 3.0  # SENDER_LEASE_SECONDS: how soon a dead sender's in-flight deliveries are sent again
    concurrency: int = 16
    pool_size: int = 6
    processes: list[Process] = field(default_factory=list)
    spawned: Iterator[int] = field(default_factory=itertools.count)  # numbers the logs (spawns run concurrently)

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def env(self, **extra: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "ADMIN_", "SUPPORT_"))}
        url = f"{self.url}{'&' if '?' in self.url else '?'}application_name={APPLICATION_NAME}"
        return {**inherited, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "NIK_PEPPER": DEMO_PEPPER,
                "DATABASE_POOL_SIZE": str(self.pool_size), "TELEGRAM_BOT_TOKEN": self.api.token,
                "TELEGRAM_API_URL": self.api.base_url, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "TELEGRAM_RATE": str(self.rate), "SENDER_CONCURRENCY": str(self.concurrency),
                "SENDER_LEASE_SECONDS": str(self.lease), "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1", **extra}

    async def _spawn(self, role: str, command: list[str], port: int | None = None) -> Process:
        path = self.workdir / f"{role}-{next(self.spawned)}.log"
        log = path.open("wb")
        env = self.env(PORT=str(port)) if port else self.env()
        proc = await asyncio.create_subprocess_exec(*command, env=env, cwd=self.workdir, stdout=log,
                                                    stderr=asyncio.subprocess.STDOUT)
        log.close()
        process = Process(role, proc, port, log=path)
        self.processes.append(process)
        return process

    async def start_serve(self, count: int) -> list[int]:
        """`python -m bot serve` x `count`, each on its own port; returns the ports once every one is healthy."""
        started = await asyncio.gather(*(self._serve() for _ in range(count)))
        return [p.port for p in started if p.port]

    async def _serve(self) -> Process:
        """One healthy `serve`. A free port can be taken by another program between `free_port` and the server's
        bind (the machine's other connections use the same range): then the server is started on another one."""
        for _ in range(PORT_ATTEMPTS):
            process = await self._spawn("serve", [sys.executable, "-m", "bot", "serve"], free_port())
            try:
                await self._healthy(process)
                return process
            except RuntimeError:
                assert process.log is not None
                if process.proc.returncode is None or "Address already in use" not in process.log.read_text(
                        errors="replace"):
                    raise
                self.processes.remove(process)
        raise RuntimeError(f"no free port for serve after {PORT_ATTEMPTS} attempts: see {self.workdir}")

    async def start_senders(self, count: int) -> list[Process]:
        return [await self._spawn("sender", sender_command()) for _ in range(count)]

    @property
    def serve_ports(self) -> list[int]:
        return [p.port for p in self.processes if p.role == "serve" and p.port and p.proc.returncode is None]

    async def _healthy(self, process: Process) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if process.proc.returncode is not None:
                    raise RuntimeError(f"serve exited with {process.proc.returncode}: see {self.workdir}")
                try:
                    if (await client.get(f"http://127.0.0.1:{process.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"serve on port {process.port} not healthy within {READY_TIMEOUT_S:.0f} s")

    def kill(self, process: Process) -> None:
        """kill -9: no cleanup, no last write."""
        process.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        for process in self.processes:
            if process.proc.returncode is None:
                process.proc.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.proc.wait(), 20)
            except TimeoutError:
                process.proc.kill()
                await process.proc.wait()

    async def cpu(self) -> dict[str, float]:
        """CPU seconds used so far: by the bot processes (per role), this process (the fake Bot API and the client
        playing Telegram) and the PostgreSQL backends of the cluster's connections (by application_name)."""
        used: dict[str, float] = {"serve": 0.0, "sender": 0.0, "test": time.process_time(), "postgres": 0.0}
        for process in self.processes:  # a process that died counts with what it had used when last seen
            process.cpu = max(process.cpu, process_cpu(process.pid))
            used[process.role] += process.cpu
        storage = await open_storage(self.url, pool_size=1)
        try:
            rows = await storage.database.fetchall(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", (APPLICATION_NAME,))
        finally:
            await storage.close()
        used["postgres"] = sum(process_cpu(r["pid"]) for r in rows)
        return used

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.workdir.glob("*.log")))


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: round(after[role] - before[role], 2) for role in after}


def sender_command() -> list[str]:
    """`python -m bot sender` when the CLI has it, else the same entry point called directly."""
    from bot.__main__ import _parser

    commands = next(a for a in _parser()._actions if a.dest == "command").choices  # type: ignore[union-attr]
    if "sender" in (commands or {}):
        return [sys.executable, "-m", "bot", "sender"]
    code = ("import asyncio, sys; from bot.logs import setup_logging; from bot.outbox import sender_main as main;"
            " from bot.settings import load_settings; s = load_settings(); setup_logging(s.log_level);"
            " sys.exit(asyncio.run(main(s)))")
    return [sys.executable, "-c", code]


# --- journeys ---------------------------------------------------------------------------------------------------


@dataclass
class JourneyReport:
    chats: int
    updates: int
    seconds: float  # first update posted -> last reply received
    out_of_order: list[int]  # chats whose replies did not come in the journey's order
    unlinked: int
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent meanwhile, per part

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds


def journey_updates(user_id: int, person: DemoApplicant) -> list[dict[str, Any]]:
    """/start, /hubungkan, the shared contact, the NIK, /hasil: real-shaped Telegram updates."""
    chat = {"id": user_id, "type": "private", "first_name": "Pemohon"}
    sender = {"id": user_id, "is_bot": False, "first_name": "Pemohon", "language_code": "id"}

    def message(n: int, **content: Any) -> dict[str, Any]:
        return {"message": {"message_id": n, "date": int(time.time()), "chat": chat, "from": sender, **content}}

    def command(n: int, text: str) -> dict[str, Any]:
        return message(n, text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(text)}])

    contact = {"phone_number": person.phone.lstrip("+"), "first_name": "Pemohon", "user_id": user_id}
    return [command(1, "/start"), command(2, "/hubungkan"), message(3, contact=contact),
            message(4, text=person.nik), command(5, "/hasil")]


async def load_people(storage: Storage, people: Sequence[DemoApplicant]) -> None:
    await storage.accounts.import_rows(
        ImportRow(hash_nik(p.nik, DEMO_PEPPER), p.phone, p.name, JOURNEY_WAVE, p.result, p.card_number, p.balance)
        for p in people
    )
    await storage.waves.publish(JOURNEY_WAVE)


async def run_journeys(cluster: Cluster, people: Sequence[DemoApplicant], *, streams: int = 64,
                       within: float = 300.0) -> JourneyReport:
    """Every person's journey, `streams` chats at a time; a chat's consecutive updates go to different processes."""
    ports = cluster.serve_ports
    update_ids = itertools.count(1)
    semaphore = asyncio.Semaphore(streams)
    cpu_before = await cluster.cpu()
    started = time.monotonic()
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)

    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        async def journey(index: int, person: DemoApplicant) -> None:
            user_id = JOURNEY_CHAT_BASE + index
            async with semaphore:
                for step, update in enumerate(journey_updates(user_id, person)):
                    port = ports[(index + step) % len(ports)]
                    update["update_id"] = next(update_ids)
                    answer = await deliver(client, f"http://127.0.0.1:{port}/telegram/webhook", update)
                    answer.raise_for_status()

        await asyncio.gather(*(journey(i, p) for i, p in enumerate(people)))
    await wait_for_texts(cluster.api, JOURNEY_MARKERS[-1], len(people), started + within)
    seconds = time.monotonic() - started
    cpu = cpu_spent(cpu_before, await cluster.cpu())
    texts = texts_by_chat(cluster.api, range(JOURNEY_CHAT_BASE, JOURNEY_CHAT_BASE + len(people)))
    out_of_order = [chat for chat, said in texts.items() if not in_order(said, JOURNEY_MARKERS)]
    storage = await open_storage(cluster.url, pool_size=1)
    try:
        unlinked = await storage.database.fetchone(
            "SELECT count(*) AS n FROM chats WHERE channel = 'telegram' AND external_id::bigint BETWEEN $1 AND $2"
            " AND account_id IS NULL", (JOURNEY_CHAT_BASE, JOURNEY_CHAT_BASE + len(people) - 1))
    finally:
        await storage.close()
    return JourneyReport(len(people), len(people) * len(JOURNEY_MARKERS), seconds, out_of_order, unlinked["n"], cpu)


async def deliver(client: httpx.AsyncClient, url: str, update: dict[str, Any]) -> httpx.Response:
    """POST one update as Telegram does: a delivery that failed on the network is made again, the same update (the
    bot acknowledges an update_id it has seen without handling it twice). The server closes a kept-alive connection
    idle for its keep-alive time; a request written on it at that moment gets no answer (httpx.ReadError or
    RemoteProtocolError), which on a loaded machine happens now and then in a run of 750 updates."""
    for attempt in range(1, WEBHOOK_TRIES + 1):
        try:
            return await client.post(url, content=json.dumps(update), headers={
                TELEGRAM_SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"})
        except (httpx.NetworkError, httpx.RemoteProtocolError):
            if attempt == WEBHOOK_TRIES:
                raise
    raise AssertionError("unreachable")


async def wait_for_texts(api: FakeBotApi, marker: str, count: int, deadline: float) -> None:
    """Until `count` messages holding `marker` were sent (looking only at calls new since the last look)."""
    seen = found = 0
    while found < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {found} of {count} chats got {marker!r}")
        calls = api.calls[seen:]
        seen += len(calls)
        found += sum(1 for c in calls if c.status == 200 and c.method == "sendMessage"
                     and marker in str(c.params.get("text", "")))
        await asyncio.sleep(0.05)


def texts_by_chat(api: FakeBotApi, chats: range) -> dict[int, list[str]]:
    said: dict[int, list[str]] = {chat: [] for chat in chats}
    for call in api.calls:
        if call.status == 200 and call.method in ("sendMessage", "editMessageText"):
            chat = int(call.chat_id) if str(call.chat_id).lstrip("-").isdigit() else 0
            if chat in said:
                said[chat].append(str(call.params.get("text", "")))
    return said


def in_order(texts: list[str], markers: Sequence[str]) -> bool:
    """Each marker is in the first reply after the previous marker's reply: nothing answered out of turn."""
    position = 0
    for marker in markers:
        while position < len(texts) and marker not in texts[position]:
            if any(later in texts[position] for later in markers[markers.index(marker) + 1:]):
                return False  # a later step's answer came first
            position += 1
        if position == len(texts):
            return False
        position += 1
    return True


# --- the broadcast ----------------------------------------------------------------------------------------------


@dataclass
class BroadcastReport:
    recipients: int
    reached: int  # distinct chats that got the message at the fake server
    duplicates: int  # chats that got it more than once
    ambiguous: int  # deliveries in flight when a sender died (sent again: the only ones that may be duplicates)
    duplicates_not_ambiguous: int  # must be 0: a delivery recorded as sent is never sent again
    lost: int  # recipients that never got it
    seconds: float  # first send -> last send at the fake server
    max_per_second: int  # the most sends that arrived in any one-second window
    max_per_two_seconds: int  # the same over two seconds (a stall of the fake server bunches less of it)
    cap: float
    throttled: int  # 429 answers of the fake server
    killed_at: int | None  # sends seen at the fake server when the sender was killed
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent meanwhile, per part

    @property
    def rate(self) -> float:
        return self.reached / self.seconds if self.seconds else 0.0


async def link_recipients(storage: Storage, count: int) -> None:
    """`count` applicants of the broadcast wave, each linked from its own Telegram chat (in bulk: set-up only)."""
    await storage.accounts.import_rows(
        ImportRow(f"scale-{i:07d}".encode(), f"+62857{i:08d}", f"Penerima {i}", BROADCAST_WAVE,
                  WaveResult.LOLOS if i % 2 else WaveResult.TIDAK_LOLOS, None, None, i + 2)
        for i in range(count)
    )
    await storage.database.execute(
        "INSERT INTO chats (channel, external_id, user_id, account_id, linked_at, first_seen, last_seen)"
        " SELECT 'telegram', ($1 + a.id)::text, ($1 + a.id)::text, a.id, now(), now(), now()"
        " FROM accounts a JOIN wave_results r ON r.account_id = a.id AND r.wave = $2",
        (BROADCAST_CHAT_BASE, BROADCAST_WAVE),
    )


async def run_broadcast(cluster: Cluster, *, recipients: int, kill_at: float | None = None,
                        within: float = 600.0) -> BroadcastReport:
    """Queue a broadcast to `recipients` linked chats and wait until every one is delivered; kill -9 the first
    sender process once `kill_at` of them were sent (None: no kill)."""
    storage = await open_storage(cluster.url, pool_size=2)
    try:
        await link_recipients(storage, recipients)
        broadcast = await storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body=BROADCAST_TEXT,
                                                audience=Audience(wave=BROADCAST_WAVE))
        cpu_before = await cluster.cpu()
        await storage.outbox.start(broadcast.id)
        killed_at = None
        victim = next((p for p in cluster.processes if p.role == "sender"), None)
        deadline = time.monotonic() + within
        seen = sent = 0
        while time.monotonic() < deadline:
            # Light on this process: it also runs the fake Bot API, whose arrival times are the measurement.
            calls = cluster.api.calls[seen:]
            seen += len(calls)
            sent += sum(1 for c in calls if c.status == 200 and BROADCAST_TEXT in str(c.params.get("text")))
            if kill_at is not None and killed_at is None and victim is not None and sent >= recipients * kill_at:
                cluster.kill(victim)
                killed_at = sent
            row = await storage.database.fetchone(
                "SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')) AS left, count(*) AS queued,"
                " count(*) FILTER (WHERE ambiguous) AS ambiguous FROM deliveries WHERE broadcast_id = $1",
                (broadcast.id,))
            expanded = (await storage.outbox.get(broadcast.id)).expanded  # type: ignore[union-attr]
            if expanded and row["left"] == 0 and row["queued"] == recipients:
                break
            await asyncio.sleep(0.2)
        else:
            raise TimeoutError(f"broadcast not delivered within {within:.0f} s: {dict(row)}")
        cpu = cpu_spent(cpu_before, await cluster.cpu())
        ambiguous_chats = {int(r["external_id"]) for r in await storage.database.fetchall(
            "SELECT ch.external_id FROM deliveries d JOIN chats ch ON ch.id = d.chat_id"
            " WHERE d.broadcast_id = $1 AND d.ambiguous", (broadcast.id,))}
    finally:
        await storage.close()
    calls = [c for c in cluster.api.calls if c.method == "sendMessage" and BROADCAST_TEXT in str(c.params.get("text"))]
    delivered = [c for c in calls if c.status == 200]
    per_chat = Counter(int(c.chat_id) for c in delivered)  # type: ignore[arg-type]
    twice = {chat for chat, n in per_chat.items() if n > 1}
    times = sorted(c.at for c in delivered)
    return BroadcastReport(
        recipients=recipients, reached=len(per_chat), duplicates=len(twice), ambiguous=len(ambiguous_chats),
        duplicates_not_ambiguous=len(twice - ambiguous_chats), lost=recipients - len(per_chat),
        seconds=(times[-1] - times[0]) if len(times) > 1 else 0.0, max_per_second=max_in_window(times, 1.0),
        max_per_two_seconds=max_in_window(times, 2.0),
        cap=cluster.rate, throttled=sum(1 for c in calls if c.status == 429), killed_at=killed_at, cpu=cpu,
    )


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most events in any half-open window of `window` seconds (times sorted)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best

