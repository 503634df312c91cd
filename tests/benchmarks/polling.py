"""`python -m bot run` as a user runs it (Telegram long polling, answers over HTTP) under a burst, against two echo
bots long-polling the same fake Bot API in the same run:

    python -m tests.benchmarks polling [--chats 300] [--rounds 3] [--fake lean|starlette]

Each of `--chats` applicants sends `/hubungkan`, their contact, their NIK, `/hasil`, `/kartu`; all their updates
are queued at once in one random interleaving (each chat's own order kept), while the bot is already polling.
Three processes, one after another in each round (a noisy neighbour hurts them alike):
- python-telegram-bot's echo bot and aiogram 3's echo bot (tests/benchmarks/echo_bots.py, every default);
- the real `python -m bot run` on a SQLite file holding the applicants (fresh each round), with a warm-up journey.
The fake Bot API runs in this process: tests/auxil/lean_bot_api.py (`--fake starlette`: tests/auxil/fake_bot_api.py,
to show what the fake itself costs). Reported per bot: updates/s from the moment the burst is queued to the last
chat's last answer, CPU of the bot process per update (/proc/PID/stat, all its threads), Bot API calls per update,
and whether every chat got its answers in its journey's order. Then the ratios to the PTB echo bot, best round and
spread. Targets (issue 15): CPU per update <= 2 x the PTB echo bot's; updates/s >= 0.6 x PTB echo (goal: >= 1.0 x
aiogram's echo).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import load_demo, open_app
from bot.demo import DEMO_PEPPER, DemoApplicant, applicants
from bot.settings import load_settings
from tests.auxil.lean_bot_api import BotState, LeanBotApi
from tests.benchmarks.echo_bots import CONTACT_ECHO
from tests.benchmarks.harness import header, outcome
from tests.benchmarks.journey import FIRST_CHAT, NOT_LINKED, journey, updates_for
from tests.benchmarks.webhook_load import cpu_seconds

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("/hubungkan", "contact", "nik", "/hasil", "/kartu")
# What the bot's answer to each step says (any of the words), in order; a chat that is told it is not linked failed.
BOT_MARKERS: tuple[tuple[str, ...], ...] = (
    ("Bagikan nomor HP saya",), ("16 digit NIK",), ("Berhasil",), ("Gelombang",),
    ("Saldo pelatihan", "belum memiliki Kartu Prakerja"))
CPU_TARGET = 2.0  # the bot's CPU per update at most 2 x the PTB echo bot's
RATE_TARGET = 0.6  # the bot's updates/s at least 0.6 x the PTB echo bot's
START_TIMEOUT = 60.0
SETTLE = 0.5  # seconds after the warm-up, before the burst
TOKENS = {"ptb-echo": "1001:BENCH-ptb-echo", "aiogram-echo": "1002:BENCH-aiogram-echo", "bot": "1003:BENCH-run",
          "bot-aiohttp": "1005:BENCH-run-aiohttp"}


@dataclass
class Result:
    name: str
    seconds: float
    cpu: float  # seconds of the bot process's CPU during the burst
    updates: int
    calls: int  # Bot API calls during the burst (getUpdates included)
    in_order: int
    broken: int
    fake_cpu: float  # seconds of this process's CPU (the fake) during the burst

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.updates * 1e3


Check = Callable[[str], bool]


def bot_checks() -> list[Check]:
    return [lambda text, words=words: any(w in text for w in words) and NOT_LINKED not in text  # type: ignore[misc]
            for words in BOT_MARKERS]


def echo_checks(person: DemoApplicant) -> list[Check]:
    expected = [step if step.startswith("/") else person.nik if step == "nik" else CONTACT_ECHO for step in STEPS]
    return [lambda text, want=want: text == want for want in expected]  # type: ignore[misc]


@dataclass
class Watch:
    """Follows what each chat receives: done when every chat has its journey's number of texts."""

    expected: dict[int, int]  # chat -> texts its journey gets
    pid: int
    done_at: float = 0.0
    cpu_at_done: float = 0.0
    fake_cpu_at_done: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    _left: int = 0
    _counts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._left = len(self.expected)

    def __call__(self, chat_id: int, text: str, at: float) -> None:
        want = self.expected.get(chat_id)
        if want is None:
            return
        count = self._counts.get(chat_id, 0) + 1
        self._counts[chat_id] = count
        if count == want:
            self._left -= 1
            if self._left == 0:
                self.done_at, self.cpu_at_done = at, cpu_seconds(self.pid)
                self.fake_cpu_at_done = time.process_time()
                self.finished.set()


def in_order(state: BotState, checks: dict[int, list[Check]]) -> tuple[int, int]:
    """(chats whose texts passed their checks in order, chats that did not)."""
    good = bad = 0
    for chat_id, chat_checks in checks.items():
        texts = state.received.get(chat_id, [])
        ok = len(texts) == len(chat_checks) and all(check(text) for check, text in zip(chat_checks, texts, strict=True))
        good, bad = (good + 1, bad) if ok else (good, bad + 1)
    return good, bad


class Bench:
    def __init__(self, args: argparse.Namespace, api_root: str, folder: Path, push: Callable[..., Any],
                 state_for: Callable[[str], BotState], fake_url: str,
                 count_calls: Callable[[BotState], int] = lambda state: sum(state.calls.values())) -> None:
        self.args, self.api_root, self.folder = args, api_root, folder
        self.push, self.state_for, self.fake_url, self.count_calls = push, state_for, fake_url, count_calls
        self.people = list(applicants(args.chats + 1, seed=606))  # the last one warms up
        self.template = folder / "template.sqlite3"

    async def prepare(self) -> None:
        settings = load_settings(database_path=self.template, nik_pepper=DEMO_PEPPER, log_level="WARNING")
        app = await open_app(settings, pepper=DEMO_PEPPER)
        try:
            await load_demo(app.storage, DEMO_PEPPER, self.people)
        finally:
            await app.close()

    def start(self, name: str, round_: int) -> asyncio.subprocess.Process | Any:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        if name.startswith("bot"):
            database = self.folder / f"round{round_}.sqlite3"
            shutil.copy(self.template, database)
            env |= {"DATABASE_PATH": str(database), "NIK_PEPPER": DEMO_PEPPER, "LOG_LEVEL": "WARNING",
                    "TELEGRAM_BOT_TOKEN": TOKENS[name], "TELEGRAM_API_URL": self.fake_url}
            profile = os.environ.get("BENCH_PROFILE", "").split()
            run = ["-m", "tests.benchmarks.aiohttp_run"] if name == "bot-aiohttp" else ["-m", "bot", "run"]
            command = [sys.executable, *profile, *run]
        else:
            command = [sys.executable, "-m", "tests.benchmarks.echo_bots", name.split("-")[0], self.api_root,
                       TOKENS[name]]
        return asyncio.create_subprocess_exec(*command, env=env, cwd=self.folder)

    async def run_one(self, name: str, round_: int) -> Result:
        state = self.state_for(TOKENS[name])
        process = await self.start(name, round_)
        try:
            return await self._measure(name, state, process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
            state.received.clear()

    async def _measure(self, name: str, state: BotState, pid: int) -> Result:
        count = self.args.chats
        people, warm = self.people[:count], self.people[count]
        is_bot = name.startswith("bot")
        chats = {FIRST_CHAT + i: p for i, p in enumerate(people)}
        checks = {chat: bot_checks() if is_bot else echo_checks(p) for chat, p in chats.items()}
        # Warm-up: one journey of its own (update ids before the burst's), answered in full, before the clock starts.
        warm_chat = FIRST_CHAT - 1
        warm_watch = Watch({warm_chat: len(STEPS)}, pid)
        state.on_text = warm_watch
        self.push(state, journey(warm, warm_chat, state.next_update_id, STEPS))
        async with asyncio.timeout(START_TIMEOUT):
            await warm_watch.finished.wait()
        await asyncio.sleep(SETTLE)
        watch = Watch({chat: len(checks[chat]) for chat in chats}, pid)
        state.on_text = watch
        updates = updates_for(people, interleave=True, seed=15, steps=STEPS, first_update=state.next_update_id)
        calls_before = self.count_calls(state)
        profiler = await self._profile(name, pid)
        cpu_before, fake_before = cpu_seconds(pid), time.process_time()
        started = time.monotonic()
        self.push(state, updates)
        try:
            async with asyncio.timeout(self.args.deadline):
                await watch.finished.wait()
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                await profiler.wait()
        except TimeoutError:
            good, bad = in_order(state, checks)
            raise SystemExit(f"{name}: only {good:,} of {count:,} chats answered in full within {self.args.deadline}"
                             f" s ({bad:,} not)") from None
        good, bad = in_order(state, checks)
        return Result(name, watch.done_at - started, watch.cpu_at_done - cpu_before, len(updates),
                      self.count_calls(state) - calls_before, good, bad, watch.fake_cpu_at_done - fake_before)


    async def _profile(self, name: str, pid: int) -> asyncio.subprocess.Process | None:
        """`--py-spy FILE`: py-spy samples the bot process during the burst (collapsed stacks, with threads)."""
        if not self.args.py_spy or name not in self.args.py_spy_bots:
            return None
        out = f"{self.args.py_spy}.{name}.txt"
        process = await asyncio.create_subprocess_exec(
            "py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--threads", "-o", out,
            "--nonblocking", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(1.0)  # py-spy attaches
        return process


async def run(args: argparse.Namespace) -> dict[str, float]:
    header(f"polling: `python -m bot run` vs echo bots, {args.chats:,} chats x {len(STEPS)} updates at once,"
           f" {args.rounds} rounds, fake Bot API: {args.fake}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    names = [n for n in TOKENS if n in args.bots]
    results: dict[str, list[Result]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="prakerja-polling-") as folder:
        if args.fake == "lean":
            api = await LeanBotApi.start()
            bench = Bench(args, api.api_root, Path(folder), lambda s, u: s.push(u), api.bot, api.base_url)
            stop = api.stop
        else:
            bench, stop = await _starlette_bench(args, Path(folder))
        try:
            await bench.prepare()
            for round_ in range(1, args.rounds + 1):
                line = []
                for name in names:
                    result = await bench.run_one(name, round_)
                    results[name].append(result)
                    line.append(f"{name} {result.rate:,.0f}/s {result.cpu_ms:.2f} ms"
                                + ("" if not result.broken else f" ({result.broken} chats OUT OF ORDER)"))
                print(f"round {round_}: " + "; ".join(line) + f"  [load {os.getloadavg()[0]:.2f}]")
        finally:
            await stop()
    return report(results)


def report(results: dict[str, list[Result]]) -> dict[str, float]:
    print()
    best: dict[str, Result] = {}
    for name, rounds in results.items():
        fastest = max(rounds, key=lambda r: r.rate)
        leanest = min(rounds, key=lambda r: r.cpu_ms)
        best[name] = fastest
        rates = sorted(r.rate for r in rounds)
        cpus = sorted(r.cpu_ms for r in rounds)
        broken = sum(r.broken for r in rounds)
        fake = sum(r.fake_cpu for r in rounds) / sum(r.seconds for r in rounds)
        fake_call = sum(r.fake_cpu for r in rounds) / sum(r.calls for r in rounds)
        print(f"{name:13} updates/s best {fastest.rate:,.0f} (rounds {rates[0]:,.0f}-{rates[-1]:,.0f});"
              f" CPU/update best {leanest.cpu_ms:.2f} ms ({cpus[0]:.2f}-{cpus[-1]:.2f});"
              f" {fastest.calls / fastest.updates:.2f} Bot API calls/update;"
              f" chats in order {fastest.in_order:,}/{fastest.in_order + fastest.broken:,}"
              + (f", {broken} OUT OF ORDER over the rounds" if broken else "")
              + f"; the fake busy {fake:.0%} of a core, {fake_call * 1e6:.0f} µs a call")
    figures: dict[str, float] = {}
    if "bot" in best and "ptb-echo" in best:
        bot, ptb = results["bot"], results["ptb-echo"]
        rate_ratios = sorted(b.rate / p.rate for b, p in zip(bot, ptb, strict=True))
        cpu_ratios = sorted(b.cpu_ms / p.cpu_ms for b, p in zip(bot, ptb, strict=True))
        rate_best = best["bot"].rate / best["ptb-echo"].rate
        cpu_best = min(r.cpu_ms for r in bot) / min(r.cpu_ms for r in ptb)
        met = outcome("`run` / PTB echo, updates/s", f"{rate_best:.2f} x", f">= {RATE_TARGET} x",
                      rate_best >= RATE_TARGET)
        print(f"bot / PTB echo, updates/s: best-of-rounds {rate_best:.2f} (per round {rate_ratios[0]:.2f}-"
              f"{rate_ratios[-1]:.2f}); target >= {RATE_TARGET}: {met}")
        met = outcome("`run` / PTB echo, CPU per update", f"{cpu_best:.2f} x", f"<= {CPU_TARGET} x",
                      cpu_best <= CPU_TARGET)
        print(f"bot / PTB echo, CPU per update: best-of-rounds {cpu_best:.2f} (per round {cpu_ratios[0]:.2f}-"
              f"{cpu_ratios[-1]:.2f}); target <= {CPU_TARGET}: {met}")
        figures |= {"rate_ratio": rate_best, "cpu_ratio": cpu_best}
        if "aiogram-echo" in best:
            aio = results["aiogram-echo"]
            goal = best["bot"].rate / best["aiogram-echo"].rate
            per_round = sorted(b.rate / a.rate for b, a in zip(bot, aio, strict=True))
            print(f"bot / aiogram echo, updates/s: best-of-rounds {goal:.2f} (per round {per_round[0]:.2f}-"
                  f"{per_round[-1]:.2f}); goal >= 1.0: "
                  f"{outcome('`run` / aiogram echo, updates/s (goal)', f'{goal:.2f} x', '>= 1.0 x', goal >= 1.0)}")
            figures["aiogram_ratio"] = goal
    if "bot" in best and "bot-aiohttp" in best:
        per_round = sorted(a.cpu_ms / b.cpu_ms for a, b in zip(results["bot-aiohttp"], results["bot"], strict=True))
        print(f"`run` with aiohttp / with bot/http_post.py, CPU per update: best-of-rounds"
              f" {min(r.cpu_ms for r in results['bot-aiohttp']) / min(r.cpu_ms for r in results['bot']):.2f}"
              f" (per round {per_round[0]:.2f}-{per_round[-1]:.2f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return figures


async def _starlette_bench(args: argparse.Namespace, folder: Path) -> tuple[Bench, Callable[[], Any]]:
    """The same benchmark on tests/auxil/fake_bot_api.py: one server per bot (it knows one token)."""
    from tests.auxil.fake_bot_api import FakeBotApi

    servers: dict[str, FakeBotApi] = {}
    states: dict[str, BotState] = {}

    def state_for(token: str) -> BotState:
        if token in states:
            return states[token]
        state = states[token] = BotState(token, "BenchBot")
        original = servers[token]._m_sendMessage

        async def record(params: dict[str, Any], original: Any = original) -> dict[str, Any]:
            answer = await original(params)
            chat_id, text = int(params["chat_id"]), str(answer.get("text", ""))
            state.received[chat_id].append(text)
            state.calls["sendMessage"] += 1
            if state.on_text is not None:
                state.on_text(chat_id, text, time.monotonic())
            return answer  # type: ignore[no-any-return]

        servers[token]._m_sendMessage = record  # type: ignore[method-assign]
        return state

    for token in TOKENS.values():
        servers[token] = await FakeBotApi(token).start()

    def push(state: BotState, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            state.last_update_id = servers[state.token].push_update(update)

    async def stop() -> None:
        for server in servers.values():
            await server.stop()

    class _Starlette(Bench):
        def start(self, name: str, round_: int) -> Any:
            self.api_root = f"http://127.0.0.1:{servers[TOKENS[name]].port}"
            self.fake_url = servers[TOKENS[name]].base_url
            return super().start(name, round_)

    return _Starlette(args, "", folder, push, state_for, "", lambda state: len(servers[state.token].calls)), stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fake", choices=("lean", "starlette"), default="lean")
    parser.add_argument("--bots", default="ptb-echo,aiogram-echo,bot",
                        help="which of them to run, comma-separated; `bot-aiohttp`: `run` with aiohttp's client in"
                             " place of bot/http_post.py (tests/benchmarks/aiohttp_run.py)")
    parser.add_argument("--py-spy", metavar="PREFIX", help="profile the burst with py-spy into PREFIX.NAME.txt")
    parser.add_argument("--py-spy-bots", default="bot", help="which bots --py-spy profiles, comma-separated")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds a burst may take at most")
    args = parser.parse_args(argv)
    args.bots = args.bots.split(",")
    args.py_spy_bots = args.py_spy_bots.split(",")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
