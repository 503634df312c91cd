"""The whole bot on PostgreSQL: applicant journeys through the real router, the same tests as on SQLite.

The tests are the core ones, imported: each runs here with `app` on a fresh PostgreSQL schema, so a handler that
works on SQLite and breaks on PostgreSQL (or the reverse) fails one of the two runs.
"""

from __future__ import annotations

import pytest

from tests.core.test_applicant import (  # noqa: F401  (collected here, run on PostgreSQL)
    test_card_shows_spoiler_and_rupiah_balance,
    test_lolos_result_shows_card_and_next_steps,
    test_stop_and_resume_announcements,
    test_tidak_lolos_result_says_no_data_entry_again,
    test_unpublished_wave_says_when_it_will_be_announced,
    test_video_can_be_marked_watched_and_guide_shows_it,
)
from tests.core.test_link import (  # noqa: F401
    test_five_wrong_niks_lock_the_chat_for_an_hour,
    test_link_with_own_phone_and_nik_then_result,
    test_linking_from_a_second_chat_moves_the_link_and_tells_the_old_chat,
    test_restart_in_the_middle_of_linking_continues,
    test_unlink_needs_confirmation,
)

pytestmark = pytest.mark.parametrize("app", ["postgres"], indirect=True)
