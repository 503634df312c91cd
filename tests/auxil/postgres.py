"""PostgreSQL for tests: the server at TEST_DATABASE_URL (default: the local one, 127.0.0.1:5432, database
`test`), and a fresh schema per test, so tests never see each other's rows and need no cleanup between them.

    url = postgres_url()                      # None when no server answers (tests then skip, saying why)
    async with fresh_schema(url) as target:   # a URL whose search_path is a new, empty schema; dropped after
        storage = await open_storage(target)
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from urllib.parse import urlsplit

import asyncpg
import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SKIP_REASON = ("PostgreSQL is not reachable at {url}: start it (`.ci/run` does) or set TEST_DATABASE_URL to run the"
               " PostgreSQL backend's tests")


@cache
def postgres_url() -> str | None:
    """TEST_DATABASE_URL, or the local server if something listens on its port; None otherwise."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1.0):
            return url
    except OSError:
        return None


def require_postgres() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip(SKIP_REASON.format(url=os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL))
    return url


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@asynccontextmanager
async def fresh_schema(url: str, prefix: str = "t") -> AsyncIterator[str]:
    """A new schema for one test; yields a URL that uses it. Dropped (with everything in it) afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield with_search_path(url, schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await admin.close()
