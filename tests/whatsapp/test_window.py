"""Unprompted messages: free-form within 24 hours of the user's last message, templates outside it, within the
number's throughput, one message per 6 s per user, and the tier of unique users per rolling 24 hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.channels.whatsapp.pacing import Pacer, RateLimiter
from bot.channels.whatsapp.transport import Outcome, WhatsAppTransport
from bot.web import Web
from handlers.api import Notice, Reply
from handlers.roles import Channel
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.user import WhatsAppUser

SITI, BUDI, AGUS = "6281100000001", "6281100000002", "6281100000003"
NEWS = Reply("<b>Info</b>: pendaftaran gelombang 5 dibuka.\nCek syaratnya dengan /syarat.")
RESULT = Reply("<b>Gelombang 1: Lolos</b>\nNomor Kartu Prakerja: <tg-spoiler>5123 4567 8901 2345</tg-spoiler>")


def transport(web: Web, tier: int | None = 250) -> WhatsAppTransport:
    assert web.whatsapp is not None
    web.whatsapp.pacer = Pacer(rate=1000, pair_interval=6.0)
    return WhatsAppTransport(web.whatsapp, tier=tier)


async def inbound(app: App, chat: str, hours_ago: float) -> None:
    when = datetime.now(UTC) - timedelta(hours=hours_ago)
    assert await app.storage.whatsapp.receive(f"wamid.IN{chat}{hours_ago}", chat, None, when)


async def test_inside_the_window_the_message_itself_goes(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=23)
    result = await transport(web).send(SITI, RESULT)
    assert result.outcome is Outcome.SENT and not result.template
    [sent] = wa_api.to(SITI)
    assert sent.type == "interactive" and "•••• •••• •••• 2345" in sent.body
    assert result.message_id == sent.id


async def test_outside_the_window_a_template_goes(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=25)
    news = await transport(web).send(SITI, NEWS)
    assert news.outcome is Outcome.SENT and news.template
    [sent] = wa_api.to(SITI)
    assert sent.message["template"]["name"] == "prakerja_info"
    assert sent.body == "*Info*: pendaftaran gelombang 5 dibuka. · Cek syaratnya dengan /syarat."
    result = await transport(web).send(BUDI, RESULT, wave=1)  # never wrote at all
    assert result.template and wa_api.to(BUDI)[0].message["template"]["name"] == "prakerja_hasil_seleksi"
    assert wa_api.to(BUDI)[0].body == "1" and "5123" not in str(wa_api.to(BUDI)[0].message)


async def test_window_closed_by_whatsapp_131047_sends_the_template_instead(
    web: Web, app: App, wa_api: FakeWhatsAppApi
) -> None:
    await inbound(app, SITI, hours_ago=1)
    wa_api.close_window(SITI)
    result = await transport(web).send(SITI, NEWS)
    assert result.outcome is Outcome.SENT and result.template
    assert (SITI, 131047) in wa_api.refused and wa_api.to(SITI)[0].type == "template"


async def test_notice_to_another_chat_goes_as_template_outside_the_window(
    web: Web, wa_api: FakeWhatsAppApi
) -> None:
    assert web.whatsapp is not None
    await web.whatsapp.notice(Notice(Channel.WHATSAPP, BUDI, NEWS))
    assert wa_api.to(BUDI)[0].type == "template"


async def test_rate_limits_mean_retry_later(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=1)
    await inbound(app, BUDI, hours_ago=1)
    sender = transport(web)
    wa_api.fail(130429, times=1, status=429)
    throughput = await sender.send(SITI, NEWS)
    assert throughput.outcome is Outcome.RETRY and throughput.retry_at is not None
    wa_api.fail(131056, to=BUDI, times=1)
    pair = await sender.send(BUDI, NEWS)
    assert pair.outcome is Outcome.RETRY and pair.retry_at is not None
    assert pair.retry_at - datetime.now(UTC) > timedelta(seconds=5)
    assert web.metrics.rate_limited.value("whatsapp") == 2


async def test_one_message_per_six_seconds_per_user(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    await inbound(app, SITI, hours_ago=1)
    sender = transport(web)
    assert (await sender.send(SITI, NEWS)).outcome is Outcome.SENT
    again = await sender.send(SITI, NEWS)
    assert again.outcome is Outcome.RETRY and again.retry_at is not None
    assert timedelta(seconds=5) < again.retry_at - datetime.now(UTC) <= timedelta(seconds=6)
    assert len(wa_api.to(SITI)) == 1
    assert (await sender.send(BUDI, NEWS)).outcome is Outcome.SENT  # another user is not held up


async def test_tier_holds_new_users_and_says_when_they_go(web: Web, wa_api: FakeWhatsAppApi) -> None:
    sender = transport(web, tier=2)
    assert (await sender.send(SITI, NEWS)).outcome is Outcome.SENT
    assert (await sender.send(BUDI, NEWS)).outcome is Outcome.SENT
    held = await sender.send(AGUS, NEWS)
    assert held.outcome is Outcome.HELD and held.retry_at is not None
    assert timedelta(hours=23, minutes=59) < held.retry_at - datetime.now(UTC) <= timedelta(hours=24)
    assert wa_api.to(AGUS) == []
    web.whatsapp.pacer = Pacer(rate=1000)  # type: ignore[union-attr]
    assert (await sender.send(SITI, NEWS)).outcome is Outcome.SENT  # already counted in the 24 h: no new place
    assert (await WhatsAppTransport(web.whatsapp, tier=None).send(AGUS, NEWS)).outcome is Outcome.SENT  # type: ignore[arg-type]


async def test_undeliverable_fails_and_opted_out_is_blocked(web: Web, app: App, wa_api: FakeWhatsAppApi) -> None:
    sender = transport(web)
    wa_api.fail(131026, to=SITI)
    assert (await sender.send(SITI, NEWS)).outcome is Outcome.FAILED
    wa_api.fail(131050, to=BUDI)
    assert (await sender.send(BUDI, NEWS)).outcome is Outcome.BLOCKED
    wa_api.fail(190, status=401)
    with pytest.raises(Exception, match="190"):
        await sender.send(AGUS, NEWS)


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
