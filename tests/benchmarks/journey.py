"""The applicant journey through the real python-telegram-bot Application, against a bare PTB echo bot.

    python -m tests.benchmarks journey                 # 2,000 applicants, one update after another
    python -m tests.benchmarks journey-concurrent      # 1,000 chats at once, per-chat order checked

Each applicant sends /start, /hubungkan, their contact, their NIK, /hasil, /kartu, /platform (7 updates). The bot
runs whole: the real `Application` (built by bot/channels/telegram), the router and handlers, SQLite in WAL on
disk; the Bot API answers in-process (harness.LocalBotApi), so neither bot waits for a network. The baseline is a
bare echo bot (one MessageHandler replying with the text) on the same harness and the same updates, run in the same
process just before, so the ratio holds on a noisy machine. Also printed: database round trips (aiosqlite hops)
per update, and for the concurrent run, whether any chat saw its answers out of order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import App, load_demo, open_app
from bot.channels.telegram import build_application
from bot.channels.telegram.processor import DEFAULT_MAX_CONCURRENT_UPDATES
from bot.demo import DEMO_PEPPER, DemoApplicant, applicants
from bot.settings import load_settings
from tests.benchmarks.harness import LOCAL_API_URL, TOKEN, LocalBotApi, header, outcome

STEPS = ("/start", "/hubungkan", "contact", "nik", "/hasil", "/kartu", "/platform")
# What each step's first answer says, in order: a chat whose answers do not follow this order was served out of order.
MARKERS = ("Asisten Prakerja", "Bagikan nomor HP saya", "16 digit NIK", "Berhasil", "Gelombang")
NOT_LINKED = "belum terhubung"
FIRST_CHAT = 700_000_000
CONCURRENT_TARGET = 0.5  # the bot's updates/s at least half the echo bot's, concurrently


def journey(person: DemoApplicant, user_id: int, first_update: int, steps: tuple[str, ...] = STEPS
            ) -> list[dict[str, Any]]:
    """The Telegram updates (real Bot API JSON) of one applicant's journey: a command, "contact" or "nik" a step."""
    sender = {"id": user_id, "is_bot": False, "first_name": "Pemohon", "language_code": "id"}
    chat = {"id": user_id, "type": "private", "first_name": "Pemohon"}
    updates = []
    for index, step in enumerate(steps):
        message: dict[str, Any] = {"message_id": index + 1, "date": int(time.time()), "chat": chat, "from": sender}
        if step == "contact":
            message["contact"] = {"phone_number": person.phone.lstrip("+"), "first_name": "Pemohon",
                                  "user_id": user_id}
        elif step == "nik":
            message["text"] = person.nik
        else:
            message["text"] = step
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(step)}]
        updates.append({"update_id": first_update + index, "message": message})
    return updates


def chats_in_order(received: dict[str, list[str]], user_ids: Iterable[int]) -> tuple[int, int]:
    """(chats served in order, chats whose answers came out of order or incomplete)."""
    good = bad = 0
    for user_id in user_ids:
        texts = received.get(str(user_id), [])
        position, ok = 0, not any(NOT_LINKED in text for text in texts)
        for marker in MARKERS:
            found = next((i for i in range(position, len(texts)) if marker in texts[i]), None)
            if found is None:
                ok = False
                break
            position = found + 1
        good, bad = (good + 1, bad) if ok else (good, bad + 1)
    return good, bad


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(message.text or "ok")


def echo_application(request: LocalBotApi, concurrent: bool) -> Application:
    """The baseline: a bare python-telegram-bot echo bot, nothing else."""
    builder = ApplicationBuilder().token(TOKEN).base_url(LOCAL_API_URL).request(request).get_updates_request(request)
    if concurrent:
        builder = builder.concurrent_updates(DEFAULT_MAX_CONCURRENT_UPDATES)
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, _echo))
    return application


async def open_bench_app(folder: Path, people: list[DemoApplicant]) -> App:
    settings = load_settings(database_path=folder / "bench.sqlite3", nik_pepper=DEMO_PEPPER, telegram_bot_token=TOKEN,
                             telegram_api_url=LOCAL_API_URL, log_level="WARNING")
    app = await open_app(settings, pepper=DEMO_PEPPER)
    await load_demo(app.storage, DEMO_PEPPER, people)
    return app


def updates_for(people: list[DemoApplicant], interleave: bool, seed: int = 6, steps: tuple[str, ...] = STEPS,
                first_update: int = 1) -> list[dict[str, Any]]:
    """Every journey's updates (chat 700,000,000 + i for person i); interleaved at random (each chat's own order
    kept) when chats send at once."""
    journeys = [journey(p, FIRST_CHAT + i, first_update + i * len(steps), steps) for i, p in enumerate(people)]
    if not interleave:
        return [u for j in journeys for u in j]
    rng = random.Random(seed)
    order = [i for i, j in enumerate(journeys) for _ in j]
    rng.shuffle(order)
    cursors = [0] * len(journeys)
    merged = []
    for i in order:
        merged.append(journeys[i][cursors[i]])
        cursors[i] += 1
    for offset, update in enumerate(merged):  # Telegram numbers updates in the order it queues them
        update["update_id"] = first_update + offset
    return merged


async def sequential(application: Application, updates: list[dict[str, Any]]) -> float:
    """Seconds to process every update, one after another (parsing included, as the poller would)."""
    bot = application.bot
    started = time.perf_counter()
    for data in updates:
        await application.process_update(Update.de_json(data, bot))
    return time.perf_counter() - started


async def concurrent(application: Application, updates: list[dict[str, Any]]) -> float:
    """Seconds from queuing every update at once to the last one handled, through the application's processor."""
    bot = application.bot
    await application.start()
    started = time.perf_counter()
    for data in updates:
        application.update_queue.put_nowait(Update.de_json(data, bot))
    await application.update_queue.join()  # every update taken off the queue (handled as tasks)
    await application.stop()  # waits for every update still being handled
    return time.perf_counter() - started


async def echo_round(updates: list[dict[str, Any]], at_once: bool) -> float:
    measure = concurrent if at_once else sequential
    async with echo_application(LocalBotApi(record=False), at_once) as echo:
        return await measure(echo, _fresh(updates))


async def bot_round(people: list[DemoApplicant], updates: list[dict[str, Any]], at_once: bool
                    ) -> tuple[float, int, LocalBotApi, int]:
    """Seconds, database hops, the Bot API's record and the batches of statements handed to the database thread,
    of one run of the bot on a fresh database."""
    measure = concurrent if at_once else sequential
    with tempfile.TemporaryDirectory(prefix="prakerja-bench-") as folder:
        app = await open_bench_app(Path(folder), people)
        try:
            api = LocalBotApi()
            application = build_application(app, app.settings, request=api)
            database = app.storage.database
            hops_before, batches_before = database.hops, getattr(database, "batches", 0)
            async with application:
                seconds = await measure(application, _fresh(updates))
            return seconds, database.hops - hops_before, api, getattr(database, "batches", 0) - batches_before
        finally:
            await app.close()


async def run(count: int, at_once: bool, rounds: int) -> dict[str, float]:
    mode = "concurrent" if at_once else "one after another"
    header(f"journey ({mode}): {count:,} applicants x {len(STEPS)} updates, best of {rounds} alternating rounds")
    people = list(applicants(count, seed=606))
    updates = updates_for(people, interleave=at_once)
    echo_times, bot_times = [], []
    for index in range(rounds):  # alternate, so that a noisy neighbour hurts both alike; keep each one's best
        echo_times.append(await echo_round(updates, at_once))
        seconds, hops, api, batches = await bot_round(people, updates, at_once)
        bot_times.append(seconds)
        good, bad = chats_in_order(api.received, range(FIRST_CHAT, FIRST_CHAT + count))
        print(f"round {index + 1}: echo {len(updates) / echo_times[-1]:,.0f} updates/s,"
              f" bot {len(updates) / seconds:,.0f} updates/s, ratio {echo_times[-1] / seconds:.2f};"
              f" journeys in order {good:,}/{count:,}" + (f", OUT OF ORDER or incomplete {bad:,}" if bad else ""))
    echo_rate, bot_rate = len(updates) / min(echo_times), len(updates) / min(bot_times)
    ratio = bot_rate / echo_rate
    print(f"baseline echo bot: {echo_rate:,.0f} updates/s (best round)")
    print(f"Asisten Prakerja:  {bot_rate:,.0f} updates/s (best round), {api.calls / len(updates):.2f} Bot API calls"
          f" per update")
    target = ""
    if at_once:
        met = outcome("bot / echo updates/s, order kept", f"{ratio:.2f} x, {bad} out of order",
                      f">= {CONCURRENT_TARGET} x, 0", ratio >= CONCURRENT_TARGET and not bad)
        target = f" (target >= {CONCURRENT_TARGET}: {met})"
    print(f"ratio bot / echo: {ratio:.2f}{target}")
    print(f"database round trips: {hops / len(updates):.2f} per update ({hops:,} aiosqlite hops in all;"
          f" the single statements went to the database thread in {batches:,} batches)")
    return {"echo_rate": echo_rate, "bot_rate": bot_rate, "ratio": ratio, "hops_per_update": hops / len(updates),
            "out_of_order": bad}


def _fresh(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(updates))


def main(argv: list[str] | None = None, *, at_once: bool = False) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=1000 if at_once else 2000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating echo/bot rounds; the best of each counts")
    args = parser.parse_args(argv)
    asyncio.run(run(args.applicants, at_once, args.rounds))


def main_concurrent(argv: list[str] | None = None) -> None:
    main(argv, at_once=True)


if __name__ == "__main__":
    main()
