"""Unprompted messages: free-form within 24 hours of the user's last message, templates outside it, within the
number's throughput, one message per 6 s per user, and the tier of unique users per rolling 24 hours."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.channels.whatsapp.pacing import Pacer, RateLimiter
from bot.channels.whatsapp.transport import WhatsAppTransport
from bot.sender.transport import OutcomeKind, Recipient
from bot.web import Web
from handlers.api import Notice, Reply
from handlers.roles import Channel
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.user import WhatsAppUser

SITI, BUDI, AGUS = "6281100000001", "6281100000002", "6281100000003"
NEWS = Reply("<b>Info</b>: pendaftaran gelombang 5 dibuka.\nCek syaratnya dengan /syarat.")
RESULT = Reply("<b>Gelombang 1: Lolos</b>\nNomor Kartu Prakerja: <tg-spoiler>5123 4567 8901 2345</tg-spoiler>")


class Sending:
    """The sender's view: `send(chat, reply)` through the WhatsApp transport."""

    def __init__(self, web: Web, tier: int | None) -> None:
        assert web.whatsapp is not None
        self.transport = WhatsAppTransport.for_channel(web.whatsapp, tier)

    async def send(self, chat: str, reply: Reply, wave: int | None = None):  # type: ignore[no-untyped-def]
        return await self.transport.send(Recipient(chat, "id", wave), reply)


def transport(web: Web, tier: int | None = 250) -> Sending:
    assert web.whatsapp is not None
    web.whatsapp.pacer = Pacer(rate=1000, pair_interval=6.0)
    return Sending(web, tier)


async def inbound(app: App, chat: str, hours_ago: float) -> None:
    when = datetime.now(UTC) - timedelta(hours=hours_ago)
    await app.storage.whatsapp.receive(chat, None, when)


def kinds(wa_api: FakeWhatsAppApi, chat: str) -> list[str]:
    return [s.type for s in wa_api.to(chat)]


async def test_inside_the_window_the_message_itself_goes(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=23)
    result = await transport(web).send(SITI, RESULT)
    assert result.kind is OutcomeKind.SENT
    [sent] = wa_api.to(SITI)
    assert sent.type == "interactive" and "•••• •••• •••• 2345" in sent.body
    assert result.message_id == sent.id


async def test_outside_the_window_a_template_goes(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=25)
    news = await transport(web).send(SITI, NEWS)
    assert news.kind is OutcomeKind.SENT
    [sent] = wa_api.to(SITI)
    assert sent.message["template"]["name"] == "prakerja_info"
    assert sent.body == "*Info*: pendaftaran gelombang 5 dibuka. · Cek syaratnya dengan /syarat."
    await transport(web).send(BUDI, RESULT, wave=1)  # never wrote at all
    [template] = wa_api.to(BUDI)
    assert template.message["template"]["name"] == "prakerja_hasil_seleksi"
    assert template.body == "1" and "5123" not in str(template.message)  # the result follows the user's tap
    assert web.metrics.templates.value() == 2


async def test_window_closed_by_whatsapp_131047_sends_the_template_instead(
    web: Web, app: App, wa_api: FakeWhatsAppApi
) -> None:
    await inbound(app, SITI, hours_ago=1)
    wa_api.close_window(SITI)
    result = await transport(web).send(SITI, NEWS)
    assert result.kind is OutcomeKind.SENT
    assert (SITI, 131047) in wa_api.refused and kinds(wa_api, SITI) == ["template"]


async def test_notice_to_another_chat_goes_as_template_outside_the_window(
    web: Web, wa_api: FakeWhatsAppApi
) -> None:
    assert web.whatsapp is not None
    await web.whatsapp.notice(Notice(Channel.WHATSAPP, BUDI, NEWS))
    assert kinds(wa_api, BUDI) == ["template"]


async def test_rate_limits_mean_retry_later(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=1)
    await inbound(app, BUDI, hours_ago=1)
    sender = transport(web)
    wa_api.fail(130429, times=1, status=429)
    throughput = await sender.send(SITI, NEWS)
    assert throughput.kind is OutcomeKind.RETRY and throughput.throttled and throughput.retry_after > 0
    wa_api.fail(131056, to=BUDI, times=1)
    asked = datetime.now(UTC)
    pair = await sender.send(BUDI, NEWS)
    assert pair.kind is OutcomeKind.RETRY and pair.retry_at is not None
    assert pair.retry_at - asked >= timedelta(seconds=6)  # the pair rate's 6 s from the send (not from after it:
    # the send's round trip is not on the clock)
    assert web.metrics.rate_limited.value("whatsapp") == 2


async def test_one_message_per_six_seconds_per_user(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=1)
    sender = transport(web)
    # The pacer's clock stands still: the next message may go 6 s after the first, however long sending the first
    # took on a busy machine (the retry time is the transport's clock at the second send + the pacer's wait).
    stopped = time.monotonic()
    sender.transport.pacer = Pacer(rate=1000, pair_interval=6.0, clock=lambda: stopped)
    assert (await sender.send(SITI, NEWS)).kind is OutcomeKind.SENT
    again = await sender.send(SITI, NEWS)
    assert again.kind is OutcomeKind.RETRY and again.retry_at is not None
    assert timedelta(seconds=5) < again.retry_at - datetime.now(UTC) <= timedelta(seconds=6)
    assert len(wa_api.to(SITI)) == 1
    assert (await sender.send(BUDI, NEWS)).kind is OutcomeKind.SENT  # another user is not held up


async def test_tier_holds_new_users_and_says_when_they_go(web: Web, wa_api: FakeWhatsAppApi) -> None:
    sender = transport(web, tier=2)
    assert (await sender.send(SITI, NEWS)).kind is OutcomeKind.SENT
    assert (await sender.send(BUDI, NEWS)).kind is OutcomeKind.SENT
    held = await sender.send(AGUS, NEWS)
    assert held.kind is OutcomeKind.RETRY and held.retry_at is not None and "messaging limit" in held.error
    assert timedelta(hours=23, minutes=59) < held.retry_at - datetime.now(UTC) <= timedelta(hours=24)
    assert wa_api.to(AGUS) == []
    sender = transport(web, tier=2)  # a fresh pace: Siti's 6 s spacing is not what this checks
    assert (await sender.send(SITI, NEWS)).kind is OutcomeKind.SENT  # already counted in the 24 h: no new place
    assert (await transport(web, tier=None).send(AGUS, NEWS)).kind is OutcomeKind.SENT


async def test_undeliverable_fails_opted_out_is_blocked_bad_token_waits(web: Web, wa_api: FakeWhatsAppApi) -> None:
    sender = transport(web)
    wa_api.fail(131026, to=SITI)
    assert (await sender.send(SITI, NEWS)).kind is OutcomeKind.FAILED
    wa_api.fail(131050, to=BUDI)
    assert (await sender.send(BUDI, NEWS)).kind is OutcomeKind.BLOCKED
    wa_api.fail(190, status=401)
    assert (await sender.send(AGUS, NEWS)).kind is OutcomeKind.TRANSIENT


async def test_replies_retry_a_throughput_error_and_arrive(user: WhatsAppUser, wa_api: FakeWhatsAppApi) -> None:
    wa_api.fail(130429, times=2, status=429)
    [menu] = await user.text("menu")
    assert menu.interactive_type == "list"
    assert [code for _, code in wa_api.refused] == [130429, 130429]


async def test_throughput_limiter_spaces_sends() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(80, clock=lambda: now[0], sleep=sleep)
    for _ in range(81):
        await limiter.acquire()
    assert now[0] == pytest.approx(1.0)  # 81 sends at 80/s: the last one a second after the first
    assert all(s == pytest.approx(1 / 80) for s in slept)
    await asyncio.sleep(0)
