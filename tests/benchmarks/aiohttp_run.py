"""`python -m bot run` with aiohttp's client in place of bot/http_post.py: the polling benchmark's `--client aiohttp`.

    python -m tests.benchmarks.aiohttp_run          # the same environment as `python -m bot run`

Everything else is the real `run`: LeanRequest (bot/channels/telegram/request.py) keeps its PTB error mapping and
hands each JSON call to `AiohttpPost`, which has PostClient's interface (`post(body, within)` -> status and body)
over one aiohttp ClientSession per method URL.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import aiohttp

import bot.channels.telegram.request as request
from bot.__main__ import main


class AiohttpPost:
    def __init__(self, url: str, *, size: int, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self.url, self.timeout = url, timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self._session: aiohttp.ClientSession | None = None
        self._size = size

    async def post(self, body: bytes, within: float | None = None) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._size))
        timeout = aiohttp.ClientTimeout(total=self.timeout if within is None else within)
        async with self._session.post(self.url, data=body, headers=self.headers, timeout=timeout) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


if __name__ == "__main__":
    request.PostClient = AiohttpPost  # type: ignore[misc,assignment]
    sys.exit(main(["run"]))
