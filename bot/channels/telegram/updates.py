"""Telegram `Update` -> platform-free `Event`. Updates the bot does not serve (channel posts, polls, ...) -> None."""

from __future__ import annotations

import logging
import re

from telegram import CallbackQuery, MaybeInaccessibleMessage, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType

from handlers.api import Capabilities, Document, Event, EventKind, EventOrigin, parse_payload
from handlers.roles import Channel

log = logging.getLogger(__name__)

# "/name" or "/name@BotName" as the first word (Telegram: 1-32 letters, digits and underscores).
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?$")

# What a Telegram chat can do (handlers ask these, never the channel's name: design note 21): the bot deletes a
# message that carried a NIK, offers a "share my number" button, and passes a file to the support group (also on
# Telegram) by its file id.
CAPABILITIES = Capabilities(delete_messages=True, share_contact=True, files_to_desk=True)


def to_event(update: Update, bot_username: str | None) -> Event | None:
    """The Event for an update, or None if there is nothing to answer."""
    message = update.effective_message
    if message is not None and getattr(message, "chat", None) is None:  # malformed: no chat to answer in
        log.warning("update %s without a chat ignored", update.update_id)
        return None
    if update.callback_query is not None:
        return _callback(update.callback_query)
    if update.message is not None:
        return _message(update.message, bot_username)
    if update.edited_message is not None:
        return _edited(update.edited_message)
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.chat.type != ChatType.PRIVATE:  # added to / removed from a group: the support desk's concern
            return Event(channel=Channel.TELEGRAM, chat_id=str(member.chat.id), user_id=str(member.from_user.id),
                         kind=EventKind.MEMBERSHIP, text=str(member.new_chat_member.status), private=False)
        if member.new_chat_member.status == ChatMemberStatus.BANNED:
            log.info("chat %s blocked the bot", member.chat.id)
    return None


def _base(message: MaybeInaccessibleMessage, user: User) -> EventOrigin:
    return {
        "channel": Channel.TELEGRAM,
        "can": CAPABILITIES,
        "chat_id": str(message.chat.id),
        "user_id": str(user.id),
        "private": message.chat.type == ChatType.PRIVATE,
        "language_hint": user.language_code,
        "message_id": str(message.message_id),
        # A message in a forum topic (the support group's tickets, issue 8); replies go back into the topic.
        "thread_id": str(message.message_thread_id) if isinstance(message, Message) and message.is_topic_message
        and message.message_thread_id else None,
    }


def _callback(query: CallbackQuery) -> Event | None:
    message = query.message
    if message is None or query.data is None:  # inline-mode message or a game: not ours
        return None
    action, arg = parse_payload(query.data)
    return Event(kind=EventKind.ACTION, action=action, arg=arg, **_base(message, query.from_user))


def _edited(message: Message) -> Event | None:
    user = message.from_user
    if user is None:
        return None
    return Event(kind=EventKind.EDITED, text=message.text or "", **_base(message, user))


def _message(message: Message, bot_username: str | None) -> Event | None:
    user = message.from_user
    if user is None or user.is_bot:  # channel posts, anonymous admins, other bots
        return None
    base = _base(message, user)
    if message.text is not None:
        return _text(message.text, _hidden_links(message), base, bot_username)
    if message.contact is not None:
        contact = message.contact
        return Event(kind=EventKind.CONTACT, contact_phone=contact.phone_number,
                     contact_is_own=contact.user_id is not None and contact.user_id == user.id, **base)
    caption = message.caption or ""  # relayed with a photo or document to support staff (issue 8)
    if message.document is not None:
        doc = message.document
        document = Document(doc.file_id, doc.file_name or "", doc.file_size or 0, doc.mime_type)
        return Event(kind=EventKind.DOCUMENT, document=document, text=caption, **base)
    if message.photo:  # an admin's broadcast photo, or a photo for support staff: its largest size
        size = message.photo[-1]
        photo = Document(size.file_id, "", size.file_size or 0, "image/jpeg")
        return Event(kind=EventKind.DOCUMENT, photo=photo, text=caption, **base)
    if not base["private"] and message.effective_attachment is None:
        return None  # a group's service message (someone joined, a topic was made, ...): nothing to answer
    return Event(kind=EventKind.UNSUPPORTED, sticker=message.sticker is not None, **base)


def _text(text: str, hidden: list[str], base: EventOrigin, bot_username: str | None) -> Event | None:
    words = text.split(maxsplit=1)
    match = _COMMAND.match(words[0]) if words and text.startswith("/") else None
    if match is not None:
        target = match.group(2)
        if target and bot_username and target.lower() != bot_username.lower() and not base["private"]:
            return None  # a command for another bot in a group
        args = words[1].strip() if len(words) > 1 else ""
        return Event(kind=EventKind.COMMAND, command=match.group(1).lower(), text=args, **base)
    if hidden:  # links behind words ("klik di sini") count for the anti-scam check
        text = text + "\n" + "\n".join(hidden)
    return Event(kind=EventKind.TEXT, text=text, **base)


def _hidden_links(message: Message) -> list[str]:
    return [e.url for e in message.entities if e.type == MessageEntityType.TEXT_LINK and e.url]
