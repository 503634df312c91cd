"""The staff-help tests run the bot with a support group configured (the hand-off suite's fixtures: the fake Bot
API on loopback, the real PTB Application, the admin 9000001 and the support member 9000002)."""

from __future__ import annotations

from tests.handoff import conftest as handoff

api = handoff.api
_quiet_retry_after_warning = handoff._quiet_retry_after_warning
app = handoff.app
application = handoff.application
staff = handoff.staff
applicant = handoff.applicant
