"""The durable inbox with several `serve` processes on PostgreSQL (issue 14.3, design note 22): two real processes,
one killed with -9 after it answered 200 to the updates of Telegram and WhatsApp chats and before any answer got
through (the fake platforms hold every send). The other process takes its rows over once their lease ran out and
answers every update exactly once, in each chat's order, also behind a newer update of the chat that reached it
meanwhile; the rows taken over end done, with no payload, and are pruned with the others.

Before the owner and lease of each row, a process on PostgreSQL could not tell a dead process's rows from another
live one's, so none recovered them: the updates of the killed process were never answered.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.inbox import LEASE_S, RENEW_EVERY_S
from storage import open_storage
from storage.postgres.coordination import TURN_WAIT_S
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi
from tests.auxil.postgres import fresh_schema, require_postgres
from tests.reliability import test_inbox as inbox_test
from tests.reliability.serving import serve_process
from tests.telegram.user import TelegramUser
from tests.whatsapp.conftest import APP_SECRET
from tests.whatsapp.user import WhatsAppUser


def test_a_dead_process_s_updates_are_taken_over_before_its_chats_next_update_stops_waiting() -> None:
    """The chat's next update waits TURN_WAIT_S for an earlier turn; the dead process's update is taken over before."""
    assert LEASE_S + RENEW_EVERY_S < TURN_WAIT_S


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_schema(require_postgres()) as target:
        storage = await open_storage(target, pool_size=2)  # migrated once, before the processes start
        await storage.close()
        yield target


async def test_a_killed_serve_s_acknowledged_updates_are_answered_by_another_once_in_order(
        url: str, tmp_path: Path) -> None:
    tg_users = [TelegramUser(None, None, user_id=7_801 + n) for n in range(2)]  # type: ignore[arg-type]
    update_ids = iter(range(900_001, 999_999))
    async with FakeBotApi() as tg_api, FakeWhatsAppApi() as wa_api:
        wa_users = [WhatsAppUser(None, None, wa_api, APP_SECRET, wa_id=f"62812000078{n:02d}")  # type: ignore[arg-type]
                    for n in range(2)]
        (tmp_path / "victim").mkdir()
        (tmp_path / "survivor").mkdir()
        async with serve_process(tmp_path / "survivor", wa_api, tg_api, DATABASE_URL=url) as survivor, \
                inbox_test.client_of(survivor) as to_survivor:
            async with serve_process(tmp_path / "victim", wa_api, tg_api, DATABASE_URL=url) as victim, \
                    inbox_test.client_of(victim) as to_victim:
                tg_api.hold("sendMessage")  # no answer gets through
                wa_api.hold()
                await inbox_test.post_plan(to_victim, tg_users, wa_users, update_ids)  # each acknowledged (200)
                victim.process.send_signal(signal.SIGKILL)
                victim.process.wait()
            tg_api.release()
            wa_api.release()
            # Each chat's next update reaches the other process at once: it waits for the chat's earlier turns.
            await inbox_test.post_last(to_survivor, tg_api, wa_api, tg_users, wa_users, update_ids)
            log = survivor.log
        inbox_test.assert_answered_in_order(tg_api, wa_api, tg_users, wa_users, log)

    storage = await open_storage(url, pool_size=1)
    try:
        left = await storage.database.fetchall("SELECT channel, update_id FROM inbox WHERE channel <> 'health'"
                                               " AND (done_at IS NULL OR payload IS NOT NULL)")
        assert left == []  # every row taken over was handled, its payload dropped
        await storage.inbox.prune(datetime.now(UTC) + timedelta(days=8))  # after the week against redeliveries
        assert await storage.database.fetchall("SELECT update_id FROM inbox") == []
    finally:
        await storage.close()
