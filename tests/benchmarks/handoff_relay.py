"""Relay latency of the hand-off to support staff (issue 8), measured at the fake Bot API on loopback.

    python -m tests.benchmarks handoff [--tickets 20] [--messages 200] [--per-minute 1000]

The whole path, as in `python -m bot run`: the real PTB Application handles the update, the router stores the
message, the desk worker (woken by the router) posts it into the ticket's topic; staff answers go into the outbox
and the real sender delivers them. Latency = the fake server's arrival time of the relayed message minus the time
the update was handed to the Application, one message at a time:
- in: an applicant's message -> sendMessage into its ticket's topic (desk: woken at once);
- out: a staff message in the topic -> sendMessage to the applicant (outbox: the sender looks every 0.25 s).
A random pause (0-0.3 s, a person typing) comes before each message, so that they do not fall in step with the
sender's polling (back to back, each would wait almost the whole 0.25 s).
Telegram allows a bot about 20 messages a minute into one group (SUPPORT_GROUP_PER_MINUTE): this run lifts the cap
(`--per-minute`) to measure the path itself; at the cap, a burst beyond 20 a minute waits for the window.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import load_demo, open_app
from bot.channels.telegram import build_application
from bot.channels.telegram.topics import support_desk
from bot.demo import DEMO_PEPPER, showcase
from bot.outbox import run_sender
from bot.settings import load_settings
from tests.auxil.fake_bot_api import Call, FakeBotApi
from tests.benchmarks.harness import header, summary_ms
from tests.telegram.user import TelegramUser

GROUP = -1009876543210
FIRST_APPLICANT = 700_000
STAFF = 9000002
WITHIN_S = 15.0
THINK_S = 0.3
_update_ids = itertools.count(1_000_000)


def _arrived(api: FakeBotApi, chat: int, marker: str, after: int) -> Call | None:
    for call in api.calls[after:]:
        if call.status == 200 and call.method == "sendMessage" and str(call.chat_id) == str(chat) \
                and marker in str(call.params.get("text", "")):
            return call
    return None


async def _relay(application: Any, api: FakeBotApi, update: dict[str, Any], chat: int, marker: str) -> float:
    """Hand `update` to the Application; seconds until the message with `marker` reached `chat` at the server."""
    update["update_id"] = next(_update_ids)
    mark = len(api.calls)
    start = time.monotonic()
    await application.process_update(Update.de_json(update, application.bot))
    calls = await api.wait_for(lambda c: _arrived(api, chat, marker, mark) is not None, within=WITHIN_S)
    assert calls
    arrived = _arrived(api, chat, marker, mark)
    assert arrived is not None
    return arrived.at - start


async def run(args: argparse.Namespace) -> None:
    header("hand-off relay latency (applicant <-> support group topic), fake Bot API on loopback")
    with tempfile.TemporaryDirectory(prefix="bench-handoff-") as folder:
        async with FakeBotApi() as api:
            settings = load_settings(
                database_path=Path(folder) / "bench.sqlite3", nik_pepper=DEMO_PEPPER, admin_ids="9000001",
                support_ids=str(STAFF), telegram_bot_token=api.token, telegram_api_url=api.base_url,
                support_chat_id=GROUP, support_flood_messages=1000, support_group_per_minute=args.per_minute,
                telegram_rate=1000)
            app = await open_app(settings, pepper=DEMO_PEPPER)
            await load_demo(app.storage, DEMO_PEPPER, showcase())
            application = build_application(app, settings)
            await application.initialize()
            desk = support_desk(app, settings)
            assert desk is not None
            stop = asyncio.Event()
            sender = asyncio.create_task(run_sender(app, settings, stop))
            await desk.start()
            try:
                applicants = [TelegramUser(application, api, user_id=FIRST_APPLICANT + i) for i in range(args.tickets)]
                staff = TelegramUser(application, api, user_id=STAFF, chat={"id": GROUP, "type": "supergroup",
                                                                            "title": "Petugas", "is_forum": True})
                for user in applicants:  # open the tickets (not measured)
                    await user.send("/petugas")
                    await user.send(f"Pertanyaan dari {user.user_id}")
                await api.wait_for("createForumTopic", count=args.tickets, within=WITHIN_S)
                threads = {}
                for user in applicants:
                    ticket = await app.storage.tickets.current(
                        (await app.storage.chats.find("telegram", str(user.user_id))).id)  # type: ignore[union-attr]
                    while ticket is not None and ticket.topic_id is None:
                        await asyncio.sleep(0.01)
                        ticket = await app.storage.tickets.get(ticket.id)
                    assert ticket is not None and ticket.topic_id is not None
                    threads[user.user_id] = ticket.topic_id
                inbound, outbound = [], []
                for n in range(args.messages):
                    user = applicants[n % len(applicants)]
                    marker = f"bench-in-{n}"
                    await asyncio.sleep(random.uniform(0, THINK_S))
                    inbound.append(await _relay(application, api, {"message": user.text_message(marker)}, GROUP,
                                                marker))
                    marker = f"bench-out-{n}"
                    await asyncio.sleep(random.uniform(0, THINK_S))
                    message = staff.text_message(marker)
                    message.update(message_thread_id=threads[user.user_id], is_topic_message=True)
                    outbound.append(await _relay(application, api, {"message": message}, user.user_id, marker))
                print(f"tickets: {args.tickets}, messages each way: {args.messages}, group cap: {args.per_minute}/min")
                print(f"in  (applicant -> topic):       {summary_ms(inbound)}")
                print(f"out (topic -> applicant, outbox): {summary_ms(outbound)}")
            finally:
                await desk.stop()
                stop.set()
                await sender
                await application.shutdown()
                await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--per-minute", type=int, default=600, help="the desk's group cap (Telegram's: 20)")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
