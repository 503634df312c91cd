"""No real network in tests: only loopback, and anything else fails the test loudly.

Two tools, after python-telegram-bot's own tests/auxil/networking.py:
- `OfflineRequest`: a `BaseRequest` that refuses every call, for a `telegram.Bot` that must never talk to anyone
  (e.g. to de-serialise updates in a unit test).
- `loopback_only()`: a context manager (used as an autouse fixture in tests/conftest.py) that patches name
  resolution and socket connects so that only 127.0.0.1 / ::1 / localhost / unix sockets work. A forbidden
  attempt raises `RealNetworkUse` at the call site and is remembered, so that the fixture fails the test even
  when the caller (an HTTP client, a retry loop) swallowed the exception.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

from telegram.request import BaseRequest, RequestData

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


class RealNetworkUse(RuntimeError):
    """A test tried to reach a host that is not loopback (e.g. api.telegram.org)."""


class OfflineRequest(BaseRequest):
    """A request object for a Bot that may not use the network at all."""

    @property
    def read_timeout(self) -> float | None:  # abstract since PTB 22: without it the class cannot be instantiated
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        raise RealNetworkUse(f"offline test tried {method} {url.split('/bot')[0]}")


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    name = str(host).strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse every non-loopback resolution or connection inside the block; yields the refused hosts."""
    refused: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(host: object) -> RealNetworkUse:
        host = host.decode() if isinstance(host, bytes) else host
        refused.append(str(host))
        return RealNetworkUse(f"test tried to reach {host!r}; only loopback is allowed")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(address: Any, family: int) -> None:
        if family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        checked(address, self.family)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        checked(address, self.family)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield refused
    finally:
        socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
