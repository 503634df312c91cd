"""WhatsApp messages through the inbox: each message of a webhook stored alone, keyed by its id (wamid).

A webhook body carries messages of several chats (and status callbacks). Each message is stored as a body of its
own, the message with its `metadata` and `contacts`, so that it reads back through the same parser
(bot/channels/whatsapp/inbound.py) exactly as it came, and each is marked done on its own.
"""

from __future__ import annotations

import json
from typing import Any

CHANNEL = "whatsapp"


def single_messages(payload: Any) -> dict[str, bytes]:
    """Message id -> a webhook body holding that message alone (with its change's metadata and contacts)."""
    found: dict[str, bytes] = {}
    if not isinstance(payload, dict):
        return found
    for entry in _list(payload.get("entry")):
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            for message in _list(value.get("messages")):
                if isinstance(message, dict) and isinstance(message.get("id"), str):
                    alone = {"metadata": value.get("metadata"), "contacts": value.get("contacts"),
                             "messages": [message]}
                    body = {"object": payload.get("object"), "entry": [{"changes": [{"field": "messages",
                                                                                      "value": alone}]}]}
                    found[message["id"]] = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
