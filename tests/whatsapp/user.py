"""A WhatsApp user as the web server sees one: signed webhook POSTs built from recorded-shape fixtures.

`WhatsAppUser.text("hasil")` posts a signed text message from this user to the real Starlette app, waits until
the background queue has handled it, and returns the messages the fake Cloud API received for this user since.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx

from bot.web import Web
from bot.web.security import SIGNATURE_HEADER, sign
from tests.auxil.fake_whatsapp_api import FakeWhatsAppApi, Sent

FIXTURES = Path(__file__).parent / "fixtures"
_ids = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def message_of(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]


class WhatsAppUser:
    def __init__(self, http: httpx.AsyncClient, web: Web, api: FakeWhatsAppApi, app_secret: str,
                 wa_id: str = "6281100000001") -> None:
        self.http = http
        self.web = web
        self.api = api
        self.app_secret = app_secret
        self.wa_id = wa_id
        self.last: list[Sent] = []

    # --- building and posting -------------------------------------------------------------------------------
    def payload(self, name: str, **fields: Any) -> dict[str, Any]:
        """The fixture `name` from this user, with a fresh message id and time; `fields` replace message fields."""
        payload = copy.deepcopy(fixture(name))
        value = payload["entry"][0]["changes"][0]["value"]
        by_phone = self.wa_id.isdigit()  # else a business-scoped user id: Meta withholds the number
        for contact in value.get("contacts", []):
            contact.pop("wa_id", None)
            contact.update({"wa_id": self.wa_id} if by_phone else {"user_id": self.wa_id})
        for message in value.get("messages", []):
            message.pop("from", None)
            message.update({"from": self.wa_id} if by_phone else {"from_user_id": self.wa_id})
            message["id"] = f"wamid.TEST{self.wa_id}{next(_ids):06d}"
            message["timestamp"] = str(int(time.time()))
            message.update(fields)
        return payload

    async def post(self, payload: dict[str, Any] | bytes, *, signature: str | None = "sign") -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers[SIGNATURE_HEADER] = sign(body, self.app_secret)
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        return await self.http.post("/whatsapp/webhook", content=body, headers=headers)

    async def deliver(self, payload: dict[str, Any]) -> list[Sent]:
        """Post (signed), wait for the background handling, return what this user received."""
        before = len(self.api.to(self.wa_id))
        response = await self.post(payload)
        assert response.status_code == 200, response.text
        await self.web.queue.join()
        self.last = self.api.to(self.wa_id)[before:]
        return self.last

    # --- what a person does -----------------------------------------------------------------------------------
    async def text(self, body: str) -> list[Sent]:
        return await self.deliver(self.payload("text", text={"body": body}))

    async def press(self, label: str) -> list[Sent]:
        """Tap the reply button or list row whose title contains `label` in the last messages received."""
        for sent in reversed(self.last):
            for choice_id, title in sent.choices:
                if label.lower() in title.lower():
                    kind = "button_reply" if sent.interactive_type == "button" else "list_reply"
                    return await self.deliver(self.payload("button_reply" if kind == "button_reply" else "list_reply",
                                                           interactive={"type": kind, kind: {"id": choice_id,
                                                                                             "title": title}}))
        raise AssertionError(f"no choice {label!r} in {[s.choices for s in self.last]}")

    async def send(self, name: str, **fields: Any) -> list[Sent]:
        return await self.deliver(self.payload(name, **fields))

    # --- reading --------------------------------------------------------------------------------------------
    @property
    def text_out(self) -> str:
        return "\n".join(s.body for s in self.last)

    @property
    def titles(self) -> list[str]:
        return [title for s in self.last for _, title in s.choices]
