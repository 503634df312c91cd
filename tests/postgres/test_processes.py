"""Several processes on PostgreSQL, for real: 3 `serve` and 3 `sender` processes against the fake Bot API.

A small version of issue 7's test (the full one, 2,000 journeys and 20,000 recipients, is
tests/benchmarks/postgres_scale.py): journeys whose consecutive updates reach different processes are answered in
order; a broadcast reaches every recipient with no duplicate except those in flight when a sender was killed
with kill -9 (at-least-once for those, bounded by the concurrency), at a combined rate under the cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.demo import applicants
from storage import open_storage
from tests.auxil.cluster import Cluster, load_people, run_broadcast, run_journeys
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.postgres import fresh_schema, require_postgres

CHATS = 150
RECIPIENTS = 1500
CAP = 400.0  # messages per second for the sum of all senders
# SENDER_LEASE_SECONDS. A sender gives up waiting for the platform's answer after half the lease and counts the
# delivery as maybe sent (ambiguous, sent again), and takes over a delivery 'sending' for longer than the lease.
# So the lease must be far longer than any stall of this loaded machine: at 2 s, a 1.5 s stall of this process
# (which runs the fake server) made every send in flight at the time ambiguous (48 = 3 senders x 16), and a full
# run under load once counted 54 against the bound of 16 for the killed sender. The lease also bounds how long
# the killed sender's sends wait to go again, so it stays well under the broadcast's `within`.
LEASE = 10.0


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with fresh_schema(require_postgres()) as url, FakeBotApi() as api:
        storage = await open_storage(url, pool_size=2)  # migrate once before the processes start
        await storage.close()
        async with Cluster(url, api, tmp_path, rate=CAP, lease=LEASE, pool_size=4) as running:
            yield running


async def test_three_servers_and_three_senders_share_the_work(cluster: Cluster) -> None:
    people = list(applicants(CHATS, seed=77, waves=1))
    storage = await open_storage(cluster.url, pool_size=1)
    try:
        await load_people(storage, people)
    finally:
        await storage.close()
    await cluster.start_serve(3)
    journeys = await run_journeys(cluster, people, streams=32, within=120)
    assert journeys.out_of_order == [], cluster.logs()
    assert journeys.unlinked == 0

    await cluster.start_senders(3)
    report = await run_broadcast(cluster, recipients=RECIPIENTS, kill_at=0.3, within=120)
    assert report.killed_at is not None
    assert report.lost == 0 and report.reached == RECIPIENTS
    assert report.duplicates_not_ambiguous == 0  # nothing recorded as sent went again
    assert report.ambiguous <= cluster.concurrency  # only the killed sender's sends in flight
    # The senders together take under 96 % of the cap from the shared budget in any second (bot/sender/budget.py).
    # The fake server, on the same two cores as six bot processes and PostgreSQL, timestamps a request when its
    # process gets the CPU, so a stall of ~0.1 s bunches arrivals into one second (seen: 427 at a cap of 400 in a
    # loaded full run). Over two seconds a stall moves a smaller share, so the cap is held there without slack,
    # which still catches senders that each spend the whole cap (2 x, 3 x); one second gets 10 % for the stall.
    assert report.rate <= CAP / 1.1 * 1.02, report
    assert report.max_per_two_seconds <= 2 * CAP, report
    assert report.max_per_second <= CAP * 1.10, report
