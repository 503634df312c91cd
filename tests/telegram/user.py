"""A Telegram user for tests: builds real-shaped Update JSON, feeds it to the real Application, reads the answers
the bot sent to the fake Bot API server (tests/auxil/fake_bot_api.py)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application

from tests.auxil.fake_bot_api import Call, FakeBotApi

_update_ids = itertools.count(1)
_OWN = object()  # contact(user_id=_OWN): the sender's own user id


@dataclass
class TelegramUser:
    application: Application
    api: FakeBotApi
    user_id: int
    first_name: str = "Siti"
    language_code: str | None = "id"
    chat: dict[str, Any] | None = None  # default: the private chat with this user
    last: list[Call] = field(default_factory=list)
    last_message_id: int | None = None  # the id of the user's latest message (a deleteMessage names it)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- Update JSON ----------------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int:
        return int(self.chat["id"]) if self.chat else self.user_id

    def sender(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def message(self, **content: Any) -> dict[str, Any]:
        chat = self.chat or {"id": self.user_id, "type": "private", "first_name": self.first_name}
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self.sender(), **content}

    def text_message(self, text: str) -> dict[str, Any]:
        message = self.message(text=text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return message

    # --- what the user does ---------------------------------------------------------------------------------
    async def feed(self, update: dict[str, Any]) -> list[Call]:
        """Process one update through the Application; `last` = the Bot API calls it caused."""
        update.setdefault("update_id", next(_update_ids))
        message = update.get("message") or update.get("edited_message")
        if message is not None:
            self.last_message_id = message["message_id"]
        mark = len(self.api.calls)
        await self.application.process_update(Update.de_json(update, self.application.bot))
        self.last = self.api.calls[mark:]
        return self.last

    async def send(self, text: str) -> list[Call]:
        return await self.feed({"message": self.text_message(text)})

    async def share_contact(self, phone: str, user_id: Any = _OWN) -> list[Call]:
        contact = {"phone_number": phone, "first_name": self.first_name}
        owner = self.user_id if user_id is _OWN else user_id
        if owner is not None:
            contact["user_id"] = owner
        return await self.feed({"message": self.message(contact=contact)})

    async def sticker(self) -> list[Call]:
        sticker = {"file_id": "CAACAgIAAxk", "file_unique_id": "AgADx", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "😀"}
        return await self.feed({"message": self.message(sticker=sticker)})

    async def edit(self, message_id: int, text: str) -> list[Call]:
        edited = {**self.message(text=text), "message_id": message_id, "edit_date": int(time.time())}
        return await self.feed({"edited_message": edited})

    async def press(self, label: str) -> list[Call]:
        """Press the inline button whose label contains `label` on the latest bot message that has one."""
        message, data = self.find_button(label)
        return await self.callback(data, message)

    async def press_menu(self, label: str) -> list[Call]:
        """Open the menu with /menu and press `label` there."""
        await self.send("/menu")
        return await self.press(label)

    async def callback(self, data: str, message: dict[str, Any] | None = None) -> list[Call]:
        """A callback query with any data (forged or stale), on `message` (default: the latest bot message)."""
        message = message or self.latest_bot_message()
        query = {"id": f"cq{next(_update_ids)}", "from": self.sender(), "chat_instance": "ci-1", "data": data,
                 "message": message}
        return await self.feed({"callback_query": query})

    # --- what the user sees ---------------------------------------------------------------------------------
    def bot_messages(self) -> list[dict[str, Any]]:
        """Messages the bot sent or edited in this chat, newest last (the Message dicts the server answered)."""
        return [c.result for c in self.api.calls_to(chat_id=self.chat_id, ok=True)
                if isinstance(c.result, dict) and "message_id" in c.result]

    def latest_bot_message(self) -> dict[str, Any]:
        return self.bot_messages()[-1]

    def find_button(self, label: str) -> tuple[dict[str, Any], str]:
        for message in reversed(self.bot_messages()):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if label.lower() in button["text"].lower() and "callback_data" in button:
                        return message, button["callback_data"]
        raise AssertionError(f"no button {label!r}; last labels: {self.labels}")

    @property
    def replies(self) -> list[Call]:
        """The messages (sent or edited) in this chat caused by the last update."""
        return [c for c in self.last if c.status == 200 and str(c.chat_id) == str(self.chat_id)
                and c.method in ("sendMessage", "editMessageText")]

    @property
    def text(self) -> str:
        return "\n".join(str(c.params.get("text", "")) for c in self.replies)

    @property
    def labels(self) -> list[str]:
        keyboards = [c for c in self.last if c.status == 200 and str(c.chat_id) == str(self.chat_id)
                     and c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")]
        return [button["text"] for c in keyboards for row in _keyboard(c) for button in row]

    def calls(self, method: str) -> list[Call]:
        return [c for c in self.last if c.method == method]


def _keyboard(call: Call) -> list[list[dict[str, Any]]]:
    markup = call.params.get("reply_markup") or {}
    return markup.get("inline_keyboard") or markup.get("keyboard") or []
