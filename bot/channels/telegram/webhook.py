"""Telegram updates python-telegram-bot cannot read (issue 14.14).

PTB 22 requires fields that older or unusual updates leave out: a user without `is_bot` (or `first_name`), a
private chat without `type`. Telegram redelivers every update not answered 2xx, so a 400 made it come back for
hours. Now: an update that only lacks those fields gets them (a user is not a bot, a chat with a positive id is a
private chat) and is served; one that still cannot be read is acknowledged with a single log line and counted in
/metrics (`prakerja_webhook_requests_total{channel="telegram",outcome="unreadable"}`).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

log = logging.getLogger(__name__)

# Keys whose value is a User (or a list of Users) in the updates a chatbot receives.
USER_KEYS = frozenset({"from", "user", "via_bot", "forward_from", "left_chat_member", "new_chat_members",
                       "sender_business_bot", "sender_user", "added_by_user", "users"})
CHAT_KEYS = frozenset({"chat", "sender_chat", "forward_from_chat"})
PRIVATE = "private"


def read_update(data: dict[str, Any], bot: Any) -> Any:
    """The `telegram.Update` of `data`, repaired where only well-known defaults are missing; None when it cannot be
    read even so (logged once)."""
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # any shape PTB cannot read: a missing field, a wrong type
        problem: Exception = exc
    repaired = fill_defaults(data)
    if repaired:
        try:
            update = Update.de_json(data, bot)
        except Exception as exc:
            problem = exc
        else:
            log.info("Telegram update %s served after filling in %s", data.get("update_id"), ", ".join(repaired))
            return update
    log.warning("Telegram update %s cannot be read (%s: %s): acknowledged and skipped", data.get("update_id"),
                type(problem).__name__, str(problem)[:200])
    return None


def fill_defaults(data: dict[str, Any]) -> list[str]:
    """Add the fields PTB requires and Telegram's older shapes leave out, in place; what was added ("is_bot", ...).
    Iterative, not recursive: the body may be nested as deep as the JSON parser allowed."""
    added: set[str] = set()
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in USER_KEYS:
                for user in value if isinstance(value, list) else [value]:
                    _user(user, added)
            elif key in CHAT_KEYS:
                _chat(value, added)
            if isinstance(value, dict | list):
                stack.append(value)
    return sorted(added)


def _user(user: Any, added: set[str]) -> None:
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        return
    if "is_bot" not in user:
        user["is_bot"] = False
        added.add("is_bot")
    if "first_name" not in user:
        user["first_name"] = ""
        added.add("first_name")


def _chat(chat: Any, added: set[str]) -> None:
    if isinstance(chat, dict) and "type" not in chat and isinstance(chat.get("id"), int) and chat["id"] > 0:
        chat["type"] = PRIVATE  # only users' private chats have positive ids
        added.add("chat type")
