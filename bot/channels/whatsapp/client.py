"""A small WhatsApp Cloud API client: send a message, get its id back or a typed error.

Own client rather than pywa: the bot needs only "send this message JSON", and owning it keeps the error mapping,
the retries (decided by the caller: the channel for replies, the sender for the outbox), the timeouts and the
swappable transport (tests talk to a fake server on loopback) in a hundred lines without a framework.

Every send is a POST to one URL, so it goes over the lean keep-alive client of bot/http_post.py (one write
a request, ~50 µs of CPU) rather than httpx (httpx and httpcore were a third of the web server's CPU under load in
the webhook benchmark); behind a proxy, or with a `transport` given, httpx does it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from bot.channels.whatsapp.errors import NetworkError, from_response
from bot.channels.whatsapp.render import Message
from bot.http_post import HttpError, PostClient, uses_proxy
from handlers.digits import is_digits

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://graph.facebook.com/v21.0"
TIMEOUT_S = 10.0
MAX_CONNECTIONS = 100


def recipient_fields(to: str) -> dict[str, str]:
    """A phone number (digits, with or without "+") goes in `to`; a business-scoped user id in `recipient`."""
    digits = to.lstrip("+")
    if is_digits(digits):
        return {"to": digits}
    return {"recipient": to}


class WhatsAppClient:
    def __init__(
        self,
        api_url: str,
        phone_id: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.phone_id = phone_id
        base = api_url.rstrip("/") + "/"
        self._lean: PostClient | None = None
        if transport is None and not uses_proxy(base):
            self._lean = PostClient(f"{base}{phone_id}/messages", size=MAX_CONNECTIONS, timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}"})
        self._http = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
        )

    async def send(self, to: str, message: Message) -> str:
        """Send one message; return its WhatsApp message id (wamid). Raises a `WhatsAppError` subclass."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **recipient_fields(to), **message}
        data = await self._post(f"{self.phone_id}/messages", body)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise NetworkError("answer without a message id") from None

    async def mark_read(self, message_id: str) -> None:
        await self._post(f"{self.phone_id}/messages",
                         {"messaging_product": "whatsapp", "status": "read", "message_id": message_id})

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        if self._lean is not None and path == f"{self.phone_id}/messages":
            try:
                status, raw = await self._lean.post(json.dumps(body).encode())
            except (TimeoutError, OSError, HttpError) as exc:
                raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
        else:
            try:
                response = await self._http.post(path, json=body)
            except httpx.HTTPError as exc:
                raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
            status, raw = response.status_code, response.content
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status >= 400 or (isinstance(data, dict) and "error" in data):
            raise from_response(status, data)
        return data

    async def close(self) -> None:
        if self._lean is not None:
            await self._lean.close()
        await self._http.aclose()
