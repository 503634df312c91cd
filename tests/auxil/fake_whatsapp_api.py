"""A fake WhatsApp Cloud API on loopback: real HTTP (starlette + uvicorn), records every message sent.

Usage::

    async with FakeWhatsAppApi() as api:           # 127.0.0.1, a free port
        api.base_url                               # "http://127.0.0.1:PORT/v21.0": WHATSAPP_API_URL
        api.token, api.phone_id                    # the only token / phone number id it accepts
        ...run the bot...
        api.sent                                   # every accepted message, in order: Sent(to, message, id)
        api.to("6281100000001")                    # filtered by recipient
        api.bodies("6281100000001")                # the text a user sees of each message (body / template params)
        await api.wait_for(count=3)                # wait (bounded) until that many messages were accepted

Faults (first matching rule wins; `times=None` = for ever):
    api.fail(130429, times=2)                      # throughput limit; 131056 pair rate; anything else by code
    api.close_window("6281100000001")              # free-form messages to that user get 131047 (templates pass)
    api.reset_connection(times=1)                  # drop the connection without an answer (nothing sent)
    api.garbage(times=1)                           # answer 200 with a body that is not JSON (nothing sent)

Realism: it checks what Meta checks (body lengths, at most 3 reply buttons with unique titles of at most 20
characters, lists of at most 10 rows with titles up to 24 and descriptions up to 72, one CTA URL, template name
and language, the bearer token) and answers errors in Graph API shape, so a rendering bug fails like in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_TOKEN = "EAAG-fake-whatsapp-token"
DEFAULT_PHONE_ID = "109876543210"
API_VERSION = "v21.0"


@dataclass
class Sent:
    to: str
    message: dict[str, Any]
    id: str

    @property
    def type(self) -> str:
        return str(self.message.get("type"))

    @property
    def interactive_type(self) -> str | None:
        return self.message.get("interactive", {}).get("type") if self.type == "interactive" else None

    @property
    def body(self) -> str:
        if self.type == "text":
            return str(self.message["text"]["body"])
        if self.type == "interactive":
            return str(self.message["interactive"]["body"]["text"])
        if self.type == "template":
            return " | ".join(p.get("text", "") for c in self.message["template"].get("components", [])
                              if c.get("type") == "body" for p in c.get("parameters", []))
        return ""

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(id, title) of the reply buttons or list rows."""
        action = self.message.get("interactive", {}).get("action", {})
        if self.interactive_type == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
        if self.interactive_type == "list":
            return [(r["id"], r["title"]) for s in action["sections"] for r in s["rows"]]
        return []


@dataclass
class Fault:
    code: int
    to: str | None
    times: int | None
    status: int = 400
    kind: str = "error"  # "error": a Graph API error answer; "reset": no answer at all; "garbage": not JSON


RESET, GARBAGE = "reset", "garbage"
_GARBAGE_BODY = b"<html><body>upstream sent an invalid response</body></html>"
# uvicorn's connection transport of the request being answered (set by FakeWhatsAppApi._asgi), to drop it on a reset.
_transport: contextvars.ContextVar[Any] = contextvars.ContextVar("fake_whatsapp_transport", default=None)


class Invalid(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FakeWhatsAppApi:
    def __init__(self, token: str = DEFAULT_TOKEN, phone_id: str = DEFAULT_PHONE_ID) -> None:
        self.token = token
        self.phone_id = phone_id
        self.sent: list[Sent] = []
        self.refused: list[tuple[str, int]] = []  # (to, error code) of every refused send
        self.faults: list[Fault] = []
        self.closed_windows: set[str] = set()
        self.holding = False  # sends wait unanswered (and are not recorded) until `release`, which drops them
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> FakeWhatsAppApi:
        app = Starlette(routes=[Route(f"/{API_VERSION}/{{phone_id}}/messages", self._messages, methods=["POST"])])

        async def asgi(scope: Any, receive: Any, send: Any) -> None:  # outermost: uvicorn's `send` is bound to the
            token = _transport.set(getattr(getattr(send, "__self__", None), "transport", None))  # connection
            try:
                await app(scope, receive, send)
            finally:
                _transport.reset(token)

        config = uvicorn.Config(asgi, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> FakeWhatsAppApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{API_VERSION}"

    # --- what a test programs and reads -------------------------------------------------------------------
    def fail(self, code: int, *, to: str | None = None, times: int | None = 1, status: int = 400) -> Fault:
        fault = Fault(code, to, times, status)
        self.faults.append(fault)
        return fault

    def reset_connection(self, *, to: str | None = None, times: int | None = 1) -> Fault:
        """Drop the connection without answering: the client sees 'server disconnected'; nothing is sent."""
        fault = Fault(0, to, times, 0, RESET)
        self.faults.append(fault)
        return fault

    def garbage(self, *, to: str | None = None, times: int | None = 1) -> Fault:
        """Answer 200 with a body that is not JSON (a broken proxy); nothing is sent."""
        fault = Fault(0, to, times, 200, GARBAGE)
        self.faults.append(fault)
        return fault

    def hold(self) -> None:
        self.holding = True
        self._release.clear()

    def release(self) -> None:
        self.holding = False
        self._release.set()

    def close_window(self, to: str) -> None:
        self.closed_windows.add(to)

    def to(self, recipient: str) -> list[Sent]:
        return [s for s in self.sent if s.to == recipient]

    def bodies(self, recipient: str) -> list[str]:
        return [s.body for s in self.to(recipient)]

    async def wait_for(self, count: int, within: float = 5.0) -> list[Sent]:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.sent) >= count)

        await asyncio.wait_for(reached(), within)
        return self.sent

    # --- the endpoint ---------------------------------------------------------------------------------------
    async def _messages(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Invalid OAuth access token.")
        if self.holding:  # a bot killed meanwhile: never answered, never recorded
            await self._release.wait()
            return _error(503, 2, "Service temporarily unavailable")
        if request.path_params["phone_id"] != self.phone_id:
            return _error(400, 100, "Unsupported post request: unknown phone number id")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 100, "Invalid JSON")
        to = str(body.get("to") or body.get("recipient") or "")
        fault = self._fault(to)
        if fault is not None:
            self.refused.append((to, fault.code))
            if fault.kind == RESET and (transport := _transport.get()) is not None:
                transport.abort()
                return JSONResponse({})  # never sent: writes to an aborted transport are dropped
            if fault.kind == GARBAGE:
                return Response(_GARBAGE_BODY, media_type="application/json")
            return _error(fault.status, fault.code, f"fault {fault.code}")
        if body.get("type") != "template" and to in self.closed_windows:
            self.refused.append((to, 131047))
            return _error(400, 131047, "Re-engagement message",
                          "Message failed to send because more than 24 hours have passed since the customer"
                          " last replied to this number.")
        try:
            _check(body)
        except Invalid as exc:
            self.refused.append((to, exc.code))
            return _error(400, exc.code, exc.message)
        message = {k: v for k, v in body.items() if k not in {"messaging_product", "recipient_type", "to",
                                                                "recipient"}}
        sent = Sent(to, message, f"wamid.FAKE{next(self._ids):08d}")
        async with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                             "messages": [{"id": sent.id}]})

    def _fault(self, to: str) -> Fault | None:
        for fault in self.faults:
            if fault.to in (None, to) and (fault.times is None or fault.times > 0):
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None


def _error(status: int, code: int, message: str, details: str = "") -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FAKE"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return JSONResponse({"error": error}, status_code=status)


def _require(condition: bool, message: str, code: int = 131009) -> None:
    if not condition:
        raise Invalid(code, f"(#{code}) Parameter value is not valid: {message}")


def _check(body: dict[str, Any]) -> None:
    """Meta's checks on a message, as far as the bot's messages go."""
    _require(body.get("messaging_product") == "whatsapp", "messaging_product", 100)
    _require(bool(body.get("to") or body.get("recipient")), "to", 131008)
    kind = body.get("type")
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        _require(0 < len(text) <= 4096, f"text body length {len(text)}")
    elif kind == "interactive":
        _check_interactive(body.get("interactive", {}))
    elif kind == "template":
        template = body.get("template", {})
        _require(bool(template.get("name")) and bool(template.get("language", {}).get("code")), "template", 132001)
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                text = parameter.get("text", "")
                _require("\n" not in text and "\t" not in text and "    " not in text, "template parameter", 132018)
    else:
        _require(False, f"unsupported type {kind}", 131051)


def _check_interactive(interactive: dict[str, Any]) -> None:
    body = interactive.get("body", {}).get("text", "")
    _require(0 < len(body) <= 1024, f"interactive body length {len(body)}")
    action = interactive.get("action", {})
    match interactive.get("type"):
        case "button":
            buttons = action.get("buttons", [])
            _require(1 <= len(buttons) <= 3, f"{len(buttons)} buttons")
            titles = [b["reply"]["title"] for b in buttons]
            _require(all(0 < len(t) <= 20 for t in titles), f"button title {titles}")
            _require(len(set(titles)) == len(titles), "button titles must be unique")
            ids = [b["reply"]["id"] for b in buttons]
            _require(len(set(ids)) == len(ids) and all(0 < len(i) <= 256 for i in ids), "button ids")
        case "list":
            _require(0 < len(action.get("button", "")) <= 20, "list button")
            rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
            _require(1 <= len(rows) <= 10, f"{len(rows)} rows")
            _require(all(len(s.get("title", "")) <= 24 for s in action["sections"]), "section title")
            _require(all(0 < len(r["title"]) <= 24 for r in rows), "row title")
            _require(all(len(r.get("description", "")) <= 72 for r in rows), "row description")
            ids = [r["id"] for r in rows]
            _require(len(set(ids)) == len(ids) and all(0 < len(i) <= 200 for i in ids), "row ids")
        case "cta_url":
            parameters = action.get("parameters", {})
            _require(action.get("name") == "cta_url", "cta name")
            _require(0 < len(parameters.get("display_text", "")) <= 20, "display_text")
            _require(str(parameters.get("url", "")).startswith(("http://", "https://")), "url")
        case other:
            _require(False, f"interactive type {other}")
