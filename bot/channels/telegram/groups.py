"""What the bot says in chats that are not private: the support group is served; channels and other groups hear
almost nothing (issue 14.9).

A button pressed under a channel post or in a group gets its callback answered (the spinner stops) and nothing
else. In a group the bot answers only when it is addressed: a command (to it: commands for other bots never reach
here), a mention of it, or a reply to one of its messages; and then at most once per group per hour (the answer is
a pointer to the private chat: repeating it helps nobody). Everything else is read and left alone, except that a
message holding a NIK is still deleted where the bot may delete (the router asks for it). The hour is counted in this
process: after a restart, or per process on PostgreSQL, a group may get the pointer once more.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram import Message, MessageEntity, Update, User
from telegram.constants import MessageEntityType

from handlers.api import Event, EventKind, Outgoing

GROUP_REPLY_EVERY_S = 3600.0  # at most one answer per group per hour
PRUNE_AT = 10_000  # forget groups whose hour has passed once this many are remembered
ADDRESSABLE = frozenset({EventKind.TEXT, EventKind.CONTACT, EventKind.DOCUMENT, EventKind.UNSUPPORTED})


class GroupPolicy:
    def __init__(self, support_chat: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.support_chat = support_chat
        self.clock = clock
        self._answered: dict[str, float] = {}  # group chat id -> when the bot last answered in it

    def screen(self, update: Update, event: Event, outgoing: Outgoing, bot: User) -> Outgoing:
        """What of `outgoing` goes out in `event`'s chat: all of it in private chats and the support group."""
        if event.private or event.chat_id == self.support_chat or not (outgoing.replies or outgoing.notices):
            return outgoing
        silent = Outgoing(forget_incoming=outgoing.forget_incoming)
        if event.kind is not EventKind.COMMAND and (
                event.kind not in ADDRESSABLE or not addressed(update.effective_message, bot)):
            return silent
        now = self.clock()
        last = self._answered.get(event.chat_id)
        if last is not None and now - last < GROUP_REPLY_EVERY_S:
            return silent
        self._answered[event.chat_id] = now
        if len(self._answered) > PRUNE_AT:
            self._answered = {c: at for c, at in self._answered.items() if now - at < GROUP_REPLY_EVERY_S}
        return outgoing


def addressed(message: object, bot: User) -> bool:
    """A mention of the bot (@name, or a mention by id, in a text or a caption), or a reply to one of its messages."""
    if not isinstance(message, Message):
        return False
    if message.reply_to_message is not None and message.reply_to_message.from_user is not None \
            and message.reply_to_message.from_user.id == bot.id:
        return True
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities
    return any(_names_bot(entity, text, bot) for entity in entities)


def _names_bot(entity: MessageEntity, text: str, bot: User) -> bool:
    if entity.type == MessageEntityType.TEXT_MENTION:
        return entity.user is not None and entity.user.id == bot.id
    if entity.type == MessageEntityType.MENTION and bot.username:
        mentioned = text.encode("utf-16-le")[entity.offset * 2:(entity.offset + entity.length) * 2].decode("utf-16-le")
        return mentioned.lower() == f"@{bot.username.lower()}"
    return False
