"""WhatsApp webhook payloads as Events (messages) and status updates (sent, delivered, read, failed).

A payload is `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value":
{"metadata": {...}, "contacts": [...], "messages": [...], "statuses": [...]}}]}]}`. The sender is named by
`wa_id` / `from` (a phone number without "+") and, since 2026, by a business-scoped user id (`user_id` /
`from_user_id`, e.g. "ID.1234..."); a user with a WhatsApp username may come with the BSUID only. The chat id is
the phone number when there is one, else the BSUID; `sender_phone` is set only for a phone number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handlers.api import Capabilities, Document, Event, EventKind, parse_payload
from handlers.digits import ASCII_DIGITS, is_digits
from handlers.roles import Channel

log = logging.getLogger(__name__)

UNSUPPORTED_TYPES = frozenset(
    {"image", "sticker", "audio", "voice", "video", "location", "order", "unsupported", "unknown", "ptv"}
)
# Nothing to answer: a reaction, a notice from WhatsApp, a message the user deleted ("revoke", Meta's type; the
# other two are older names of it).
IGNORED_TYPES = frozenset({"reaction", "system", "ephemeral", "revoke", "revoked", "deleted"})
# Interactive replies to things this bot never sends (a WhatsApp Flow's completion, a call permission request):
# answering them with "I only read text" would puzzle the user, so they are left unanswered.
IGNORED_INTERACTIVE = frozenset({"nfm_reply", "call_permission_reply"})
WELCOME_TYPE = "request_welcome"  # the user opened the chat for the first time
MENU_COMMAND = "menu"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    event: Event
    message_id: str  # wamid: the key of redelivery
    timestamp: datetime
    bsuid: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_id: str
    status: str  # sent | delivered | read | failed | (others Meta may add)
    recipient: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str | None = None


@dataclass
class Inbound:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)


def is_phone_id(value: str | None) -> bool:
    return value is not None and is_digits(value)


def _time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def _changes(payload: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or ():
            if isinstance(change, dict) and change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield change["value"]


def parse(payload: Any, phone_id: str | None = None) -> Inbound:
    """Everything readable in one webhook POST. Values for another business number than `phone_id` are skipped."""
    inbound = Inbound()
    for value in _changes(payload):
        metadata = value.get("metadata") or {}
        if phone_id and str(metadata.get("phone_number_id", phone_id)) != phone_id:
            log.warning("webhook for another phone number id skipped")
            continue
        contacts = [c for c in value.get("contacts") or () if isinstance(c, dict)]
        for message in value.get("messages") or ():
            if isinstance(message, dict):
                parsed = _message(message, contacts)
                if parsed is not None:
                    inbound.messages.append(parsed)
        for status in value.get("statuses") or ():
            if isinstance(status, dict) and status.get("id"):
                inbound.statuses.append(_status(status))
    return inbound


def _sender(message: dict[str, Any], contacts: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(phone digits, BSUID) of the sender. The phone number comes from the message's own `from` and nothing else:
    a contact entry never names the sender (a payload whose `from` is a BSUID and whose only contact holds an
    admin's number is that BSUID's message, not the admin's). A contact whose `wa_id` is exactly the sender's
    number may only add the BSUID that goes with it."""
    sender = message.get("from")
    phone = sender if isinstance(sender, str) and is_phone_id(sender) else None
    bsuid = _text(message.get("from_user_id")) or (_text(sender) if not phone else None)
    if phone and not bsuid:
        for contact in contacts:
            if contact.get("wa_id") == phone:
                bsuid = _text(contact.get("user_id"))
                break
    return phone, bsuid


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

# What a WhatsApp chat can do (design note 21): a bot cannot delete the user's message, has no "share my number"
# button (the sender's number comes with each message, `sender_phone`), and a WhatsApp media id means nothing to the
# support group on Telegram.
CAPABILITIES = Capabilities()


def _message(message: dict[str, Any], contacts: list[dict[str, Any]]) -> InboundMessage | None:
    message_id = message.get("id")
    kind = message.get("type")
    phone, bsuid = _sender(message, contacts)
    chat_id = phone or bsuid
    if not message_id or not chat_id or kind in IGNORED_TYPES:
        return None
    base: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "can": CAPABILITIES,
        "chat_id": chat_id,
        "user_id": chat_id,
        "sender_phone": f"+{phone}" if phone else None,
        "message_id": message_id,
    }
    fields = _fields(kind, message, phone)
    if fields is None:
        return None
    return InboundMessage(Event(**base, **fields), message_id, _time(message.get("timestamp")), bsuid)


def _fields(kind: Any, message: dict[str, Any], phone: str | None) -> dict[str, Any] | None:
    match kind:
        case "text":
            return _typed((message.get("text") or {}).get("body", ""))
        case "interactive":
            interactive = message.get("interactive") or {}
            if interactive.get("type") in IGNORED_INTERACTIVE:
                log.info("WhatsApp %s left unanswered: the bot never asks for one", interactive.get("type"))
                return None
            reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
            if not reply.get("id"):  # a tap WhatsApp could not pass on (it says so in `errors`): offer the menu again
                return {"kind": EventKind.COMMAND, "command": MENU_COMMAND}
            action, arg = parse_payload(str(reply["id"]))
            return {"kind": EventKind.ACTION, "action": action, "arg": arg}
        case "button":  # a quick-reply button of a template message
            button = message.get("button") or {}
            action, arg = parse_payload(str(button.get("payload") or button.get("text") or ""))
            return {"kind": EventKind.ACTION, "action": action, "arg": arg} if action else None
        case "contacts":
            phones = [p for c in message.get("contacts") or () for p in (c or {}).get("phones") or ()]
            if not phones:
                return {"kind": EventKind.UNSUPPORTED}
            first = phones[0]
            shared = first.get("wa_id") or first.get("phone") or ""
            own = bool(phone) and "".join(ch for ch in str(shared) if ch in ASCII_DIGITS) == phone
            return {"kind": EventKind.CONTACT, "contact_phone": str(first.get("phone") or shared),
                    "contact_is_own": own}
        case "document":
            document = message.get("document") or {}
            return {"kind": EventKind.DOCUMENT, "document": Document(
                file_id=str(document.get("id", "")), file_name=str(document.get("filename") or "dokumen"),
                size=int(document.get("file_size") or 0), mime_type=document.get("mime_type"))}
        case "edit" | "edited":
            return {"kind": EventKind.EDITED}
        case "sticker":  # answered with something friendly (issue 13)
            return {"kind": EventKind.UNSUPPORTED, "sticker": True}
        case _ if kind == WELCOME_TYPE:
            return {"kind": EventKind.COMMAND, "command": "start"}
        case _:
            if kind not in UNSUPPORTED_TYPES:
                log.info("unknown WhatsApp message type %r answered as unsupported", kind)
            return {"kind": EventKind.UNSUPPORTED}


def _typed(body: str) -> dict[str, Any]:
    """Text; "/name args" is a command as on Telegram (bare command words are the router's business)."""
    text = body.strip()
    if text.startswith("/") and len(text) > 1 and not text[1].isspace():
        name, _, args = text[1:].partition(" ")
        return {"kind": EventKind.COMMAND, "command": name.lower(), "text": args.strip()}
    return {"kind": EventKind.TEXT, "text": text}


def _status(status: dict[str, Any]) -> StatusUpdate:
    errors = [e for e in status.get("errors") or () if isinstance(e, dict)]
    code = errors[0].get("code") if errors else None
    return StatusUpdate(
        message_id=str(status["id"]),
        status=str(status.get("status", "")),
        recipient=str(status.get("recipient_id") or status.get("recipient_user_id") or ""),
        timestamp=_time(status.get("timestamp")),
        error_code=int(code) if isinstance(code, int) else None,
        error_title=str(errors[0].get("title")) if errors else None,
    )
