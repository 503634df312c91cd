"""The web server on PostgreSQL: WhatsApp and Telegram webhooks through the real ASGI app, with the chat turns
(tickets taken before the 200, handling in turn) that several processes need. The tests are the WhatsApp ones,
imported and run here with `app` on a fresh PostgreSQL schema.
"""

from __future__ import annotations

import pytest

from tests.whatsapp.conftest import http, user, wa_api, web  # noqa: F401  (their fixtures, for the tests below)
from tests.whatsapp.test_flows import (  # noqa: F401
    test_link_with_the_sender_number_and_nik_then_result,
    test_wrong_nik_counts_and_five_lock_the_number,
)
from tests.whatsapp.test_webhook import (  # noqa: F401
    test_a_message_twice_in_one_body_is_handled_once,
    test_one_chat_in_order_many_chats_at_once,
    test_redelivered_message_is_handled_once,
    test_telegram_webhook_needs_the_secret_and_handles_an_update_once,
)

pytestmark = pytest.mark.parametrize("app", ["postgres"], indirect=True)
