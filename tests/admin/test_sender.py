"""The sender against the fake Bot API: audiences, 429 / 5xx / 403, pacing measured at the server."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram.ext import Application

from bot.app import App
from bot.pacing import PACING_CREDIT, PACING_GUARD, TokenBucket
from bot.sender import Sender
from bot.sender.worker import MAX_BATCH
from handlers.roles import Channel
from storage import Progress
from storage.models import Audience, BroadcastKind, BroadcastState, GuideGap, WaveResult
from tests.admin.conftest import (
    NEW_WAVE,
    delivery_states,
    elapsed,
    populate,
    queue_empty,
    run_until,
    sent_at_least,
)
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi
from tests.telegram.user import TelegramUser


async def broadcast(app: App, text: str, audience: Audience) -> int:
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body=text, audience=audience)
    started = await app.storage.outbox.start(draft.id)
    assert started is not None
    return draft.id


async def test_broadcast_reaches_exactly_its_audience(
    app: App, api: FakeBotApi, admin: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 120)
    await app.storage.waves.publish(NEW_WAVE)
    lolos = [m for m in members if m.result is WaveResult.LOLOS]
    watched, opted_out, blocked, twice = lolos[0], lolos[1], lolos[2], lolos[3]
    await app.storage.chats.mark_progress(watched.chat_id, Progress.VIDEO_WATCHED)
    await app.storage.chats.set_opted_out(opted_out.chat_id, True)
    await app.storage.database.execute("UPDATE chats SET blocked = 1 WHERE id = ?", (blocked.chat_id,))
    # `twice` is also linked on WhatsApp (seen longer ago): one message, on the most recently used chat.
    other = await app.storage.chats.snapshot(Channel.WHATSAPP.value, "6285700000099", None)
    await app.storage.database.execute("UPDATE chats SET last_seen = '2000-01-01T00:00:00+00:00' WHERE id = ?",
                                       (other.chat.id,))
    await app.storage.chats.link(other.chat.id, twice.account_id, "test")
    unlinked = await app.storage.chats.snapshot(Channel.TELEGRAM.value, "777", "777")

    # Through the admin's compose panel: lolos, video not watched.
    await admin.command("siaran", "Jangan lupa tonton video perkenalan sebelum membeli pelatihan & ujian.")
    await admin.press("Lolos, video belum ditonton")
    expected = {m.external_id for m in lolos} - {watched.external_id, opted_out.external_id, blocked.external_id}
    assert f"Jumlah penerima sekarang: <b>{len(expected)}</b>" in admin.text_out
    await admin.press("Pratinjau")
    preview = admin.replies[0]
    assert preview.text.startswith("Jangan lupa tonton video perkenalan sebelum membeli pelatihan &amp; ujian.")
    await admin.press("Kirim sekarang")
    await admin.press("Ya, kirim")
    assert "mulai dikirim" in admin.text_out
    await run_until(make_sender(), queue_empty(app))

    sent = Counter(str(call.chat_id) for call in api.sent())
    assert set(sent) == expected and set(sent.values()) == {1}
    assert api.texts(twice.external_id)[0] == preview.text  # as previewed
    assert unlinked.chat.external_id not in sent

    # "All chats, unlinked too" reaches the unlinked chat, still not the opted-out or blocked ones.
    api.calls.clear()
    await broadcast(app, "Info untuk semua", Audience(unlinked=True))
    await run_until(make_sender(), queue_empty(app))
    sent = Counter(str(call.chat_id) for call in api.sent())
    assert unlinked.chat.external_id in sent and set(sent.values()) == {1}
    assert opted_out.external_id not in sent and blocked.external_id not in sent
    assert "6285700000099" not in sent  # no WhatsApp transport here, and `twice` got it on Telegram
    assert sent[twice.external_id] == 1


async def test_429_retry_after_is_obeyed_and_counted(
    app: App, api: FakeBotApi, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 20)
    api.too_many_requests(retry_after=1, method="sendMessage", times=1)
    broadcast_id = await broadcast(app, "Pengumuman", Audience())
    sender = make_sender()
    await run_until(sender, queue_empty(app))

    refused = [c for c in api.calls_to("sendMessage") if c.status == 429]
    assert len(refused) == 1
    assert sender.stats.throttled == 1
    stored = await app.storage.outbox.get(broadcast_id)
    assert stored is not None and stored.throttled == 1
    # The refused message went again only after retry_after; sends already in flight when the 429 came may land
    # a little later (a loaded machine), then nothing goes out until retry_after has passed.
    again = api.calls_to("sendMessage", chat_id=refused[0].chat_id, ok=True)
    assert len(again) == 1 and again[0].at - refused[0].at >= 1.0
    paused = [c for c in api.calls_to("sendMessage") if refused[0].at + 0.3 < c.at < refused[0].at + 0.95]
    assert paused == []
    assert Counter(str(c.chat_id) for c in api.sent()) == Counter({m.external_id: 1 for m in members})


async def test_server_errors_are_retried_with_backoff(
    app: App, api: FakeBotApi, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 5)
    api.server_error(status=502, method="sendMessage", chat_id=members[0].external_id, times=1)
    api.server_error(status=500, method="sendMessage", chat_id=members[1].external_id, times=1)
    broadcast_id = await broadcast(app, "Pengumuman", Audience())
    sender = make_sender()
    await run_until(sender, queue_empty(app), within=15)

    assert sender.stats.transient == 2
    assert Counter(str(c.chat_id) for c in api.sent()) == Counter({m.external_id: 1 for m in members})
    assert await delivery_states(app, broadcast_id) == {"sent": 5}


async def test_403_marks_the_chat_blocked_and_stops_sending_to_it(
    app: App, api: FakeBotApi, support: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 5)
    gone = members[2]
    api.blocked(chat_id=gone.external_id)
    first = await broadcast(app, "Satu", Audience())
    await run_until(make_sender(), queue_empty(app))
    chat = await app.storage.chats.get(gone.chat_id)
    assert chat is not None and chat.blocked
    assert await delivery_states(app, first) == {"sent": 4, "blocked": 1}

    calls_before = len(api.calls_to("sendMessage", chat_id=gone.external_id))
    second = await broadcast(app, "Dua", Audience())
    await run_until(make_sender(), queue_empty(app))
    assert len(api.calls_to("sendMessage", chat_id=gone.external_id)) == calls_before
    assert await delivery_states(app, second) == {"sent": 4}
    # Support sees it.
    await support.command("cari", f"chat:{gone.chat_id} pemohon bertanya")
    assert "memblokir bot" in support.text_out


async def test_rate_and_per_chat_spacing_measured_at_the_server(
    app: App, api: FakeBotApi, make_sender: Callable[..., Sender]
) -> None:
    """30 messages/s overall and 1/s per chat: the fake server would answer 429 beyond either."""
    cap = 30
    members = await populate(app, 40)
    api.rate_limit(per_second=cap, per_chat=1)
    await broadcast(app, "Satu", Audience())
    await broadcast(app, "Dua", Audience())  # every chat gets two messages: they must be a second apart
    await run_until(make_sender(rate=cap, concurrency=8), queue_empty(app), within=15)

    calls = api.calls_to("sendMessage")
    assert [c for c in calls if c.status == 429] == []
    times = sorted(c.at for c in calls)
    assert len(times) == 80
    assert busiest_second(times) <= cap
    per_chat = defaultdict(list)
    for c in calls:
        per_chat[str(c.chat_id)].append(c.at)
    assert all(len(ts) == 2 and ts[1] - ts[0] >= 1.0 for ts in per_chat.values())
    achieved = (len(times) - 1) / (times[-1] - times[0])
    # Paced, not crawling. The floor is for a crawl, not for speed (that is tests/benchmarks' job): a sender that
    # waited a poll (0.25 s) between claims of one delivery would make 4/s; 85 % of the cap failed on a loaded
    # 2-core machine (21.4/s), where this test shares the cores with the fake server and the database.
    assert achieved > cap * 0.5
    assert {m.external_id for m in members} == set(per_chat)


def test_token_bucket_never_allows_more_than_the_rate_in_a_second() -> None:
    now = [0.0]
    for rate in (1, 30, 1000):
        now[0] = 0.0  # before the bucket is made: its clock never goes back
        bucket = TokenBucket(rate, clock=lambda: now[0])
        starts: list[float] = []
        while now[0] < 5:
            starts += [now[0]] * bucket.take(10_000)
            now[0] += 0.0007
        assert busiest_second(starts) <= rate
        assert len(starts) >= rate * 5 / (1 + PACING_GUARD) * 0.97


def test_late_wake_ups_cost_no_rate_and_jitter_cannot_push_a_second_over_the_cap() -> None:
    """The dispatch loop wakes up late (by up to the bucket's credit): the tokens of those milliseconds are still
    there, so the rate stays the refill's (96 % of the cap). And starts in any window of 1.03 s (a send delayed by
    30 ms more than one a second later lands in the same second of the platform's counter) stay within the cap."""
    late = random.Random(7)
    now = [0.0]
    for rate in (30, 1000):
        now[0] = 0.0
        bucket = TokenBucket(rate, clock=lambda: now[0])
        starts: list[float] = []
        while now[0] < 20:
            now[0] += bucket.wait_time(bucket.gather) + late.uniform(0, PACING_CREDIT)
            starts += [now[0]] * bucket.take(MAX_BATCH)
        assert len(starts) >= bucket.refill * 20 * 0.995 >= rate * 20 * 0.95
        assert busiest_second(starts, window=1.03) <= rate


async def test_pause_resume_and_cancel(
    app: App, api: FakeBotApi, admin: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    await populate(app, 30)
    broadcast_id = await broadcast(app, "Pengumuman", Audience())
    await admin.command("siaran_status")
    assert f"#{broadcast_id} Siaran" in admin.text_out and "berjalan" in admin.text_out
    await admin.press(f"Jeda #{broadcast_id}")
    assert "dijeda" in admin.text_out
    sender = make_sender()
    await run_until(sender, elapsed(0.5))  # paused: nothing goes out
    assert api.sent() == []
    await admin.press(f"Lanjutkan #{broadcast_id}")
    await admin.press(f"Batalkan #{broadcast_id}")
    assert "Pesan yang belum terkirim tidak akan dikirim" in admin.text_out
    await admin.press("Ya, batalkan")
    assert "dibatalkan" in admin.text_out
    await run_until(make_sender(), elapsed(0.6))
    assert api.sent() == []
    stored = await app.storage.outbox.get(broadcast_id)
    assert stored is not None and stored.state is BroadcastState.CANCELLED
    assert await delivery_states(app, broadcast_id) == {"cancelled": 30}


async def test_a_scheduled_broadcast_starts_at_its_time(
    app: App, api: FakeBotApi, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 3)
    draft = await app.storage.outbox.create(BroadcastKind.BROADCAST, "9000001", body="Nanti",
                                            audience=Audience(gap=GuideGap.TRAINING))
    start = time.monotonic()
    await app.storage.outbox.start(draft.id, datetime.now(UTC) + timedelta(seconds=2))  # stored to the second
    await run_until(make_sender(), sent_at_least(api, len(members)), within=6)
    assert min(c.at for c in api.sent()) - start >= 1.0


def busiest_second(times: list[float], window: float = 1.0) -> int:
    """The most events in any window [t, t + `window` s) (a window may start anywhere, so at an event)."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_a_429_on_the_broadcast_path_does_not_hold_up_answers(
    app: App, api: FakeBotApi, application: Application, make_sender: Callable[..., Sender]
) -> None:
    """The broadcast pauses for retry_after; an applicant's command is answered at once all the same."""
    members = await populate(app, 40)
    api.too_many_requests(retry_after=5, method="sendMessage", chat_id=members[0].external_id, times=1)
    await broadcast(app, "Pengumuman", Audience())
    user = TelegramUser(application, api, user_id=1001)
    stop = asyncio.Event()
    sender = make_sender(rate=30)
    task = asyncio.create_task(sender.run(stop))
    try:
        for _ in range(500):  # the 429 comes within a few tens of milliseconds
            if any(c.status == 429 for c in api.calls):
                break
            await asyncio.sleep(0.01)
        refused_at = time.monotonic()
        await user.send("/start")
        answered = time.monotonic()
        # Not held by the broadcast's 5 s pause (it would take 5 s); half of it leaves room for a busy machine.
        assert "Asisten Prakerja" in user.text and answered - refused_at < 5 / 2
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task
    assert sender.stats.throttled == 1
    broadcast_after = [c for c in api.calls_to("sendMessage", ok=True)
                       if str(c.chat_id) != "1001" and c.at > refused_at + 0.05]
    assert broadcast_after == []  # the broadcast path waits out its 5 s
