"""Command-line fixtures: the fake Bot API on loopback (the Telegram suite's fixture), and `run`, which runs
`python -m bot ARGS...` in this process and returns (exit code, stdout, stderr) (the import suite's fixture)."""

from __future__ import annotations

from tests.importer import conftest as importer_fixtures
from tests.telegram import conftest as telegram_fixtures

run = importer_fixtures.run

api = telegram_fixtures.api
_quiet_retry_after_warning = telegram_fixtures._quiet_retry_after_warning
