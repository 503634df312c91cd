"""/metrics (issues 12, 14.7, 15.4): only for the holder of METRICS_TOKEN, no person named in any label, and the
database figures read off the answers' path: on a connection of their own, one read for any number of scrapers,
cached between reads. (Its cost under load: `python -m tests.benchmarks metrics`.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.demo import DemoApplicant
from bot.web import Web
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.whatsapp.conftest import METRICS_AUTH, METRICS_TOKEN, make_web, wa_settings
from tests.whatsapp.user import WhatsAppUser

SCRAPERS = 16


async def test_metrics_need_the_bearer_token(http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": METRICS_TOKEN},
                    {"Authorization": f"Basic {METRICS_TOKEN}"}):
        refused = await http.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer", headers
        assert "prakerja_" not in refused.text
    assert "/metrics refused" in caplog.text and METRICS_TOKEN not in caplog.text
    page = await http.get("/metrics", headers=METRICS_AUTH)
    assert page.status_code == 200 and "prakerja_outbox_deliveries" in page.text


@pytest.fixture
async def web_without_token(app: App, wa_api: FakeWhatsAppApi, tmp_path: Path) -> AsyncIterator[Web]:
    web = make_web(app, wa_settings(tmp_path, wa_api, metrics_token=""))  # METRICS_TOKEN= (empty) in .env
    async with web.running():
        yield web


async def test_without_a_token_there_is_no_metrics_page(web_without_token: Web) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_without_token.starlette),
                                 base_url="http://bot.test") as http:
        assert (await http.get("/metrics", headers=METRICS_AUTH)).status_code == 404
        assert (await http.get("/healthz")).status_code == 200


async def test_scrapes_never_use_the_answering_connection_and_read_once_for_all_scrapers(
    app: App, web: Web, http: httpx.AsyncClient, wa_user: WhatsAppUser
) -> None:
    user = wa_user
    web.gauges.min_age = 10.0  # as in production (the suite's fixture reads at every scrape)
    await user.text("menu")
    answering = app.storage.database
    statements = answering.hops  # statements run on the connection that answers applicants
    pages = await asyncio.gather(*(http.get("/metrics", headers=METRICS_AUTH) for _ in range(SCRAPERS)))
    assert all(p.status_code == 200 and "prakerja_outbox_deliveries" in p.text for p in pages)
    assert web.gauges.reads == 1  # sixteen scrapers at once: one read of the database
    await http.get("/metrics", headers=METRICS_AUTH)
    assert web.gauges.reads == 1  # and the next scrape within the figures' age reads nothing
    assert answering.hops == statements, "a scrape ran statements on the answering connection"
    await user.text("bantuan")  # the second connection does not disturb the first
    assert "/hasil" in user.text_out


@pytest.mark.parametrize("app", ["sqlite", "postgres"], indirect=True)  # PostgreSQL: a pool of one of its own
async def test_figures_follow_the_database_once_they_are_old_enough_without_a_scrape_waiting(
    web: Web, http: httpx.AsyncClient, wa_user: WhatsAppUser, people: list[DemoApplicant]
) -> None:
    user = wa_user
    web.gauges.min_age, web.gauges.serve_stale = 10.0, True  # as in production (a page is rendered each time)
    first = (await http.get("/metrics", headers=METRICS_AUTH)).text  # the first scrape waits for the first read
    assert "prakerja_link_failures_total 0" in first
    await user.text("hubungkan")
    await user.text(people[1].nik)  # Budi's NIK, not hers: one failed verification, audited
    assert "tidak cocok" in user.text_out
    assert "prakerja_link_failures_total 0" in (await http.get("/metrics", headers=METRICS_AUTH)).text  # cached
    web.gauges.min_age = 0.0  # the figures are now old:
    stale = (await http.get("/metrics", headers=METRICS_AUTH)).text  # answered at once with them, a read started
    assert "prakerja_link_failures_total 0" in stale and web.gauges.reads == 1
    await asyncio.wait_for(web.gauges.settled(), 5)
    assert web.gauges.reads == 2
    web.gauges.min_age = 10.0
    assert "prakerja_link_failures_total 1" in (await http.get("/metrics", headers=METRICS_AUTH)).text
