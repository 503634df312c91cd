"""The contract between channels and handlers: an incoming `Event`, outgoing `Reply`s.

Channels (bot/channels/*) build Events from platform updates and render Replies; handlers never see a
platform object. Reply text is a small HTML subset (<b>, <i>, <a href>, <tg-spoiler>), which every channel
knows how to render: Telegram natively, WhatsApp as its own markup, the terminal as plain text. Anything that
comes from a user must be escaped with `html.escape` before it goes into a Reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, Required, TypedDict

from handlers.roles import Channel, Principal

# Telegram's limit on callback_data (telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA);
# handlers stay import-free of `telegram`, and a test checks the two agree.
MAX_ACTION_BYTES = 64
ACTION_SEPARATOR = ":"


class EventKind(StrEnum):
    COMMAND = "command"  # /name args
    TEXT = "text"  # free text
    ACTION = "action"  # a button pressed
    CONTACT = "contact"  # a shared phone number
    DOCUMENT = "document"  # a file upload
    UNSUPPORTED = "unsupported"  # sticker, photo, voice, ...: something we do not read
    EDITED = "edited"  # an edited earlier message
    MEMBERSHIP = "membership"  # the bot was added to or removed from a group (`text`: its new status)


@dataclass(frozen=True, slots=True)
class Document:
    file_id: str
    file_name: str
    size: int
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the platform an event came from can do, as its adapter says (bot/channels/*): handlers ask these, never
    the channel's name (design note 21). The default promises nothing."""

    delete_messages: bool = False  # the bot can delete the user's message (one that carried a NIK)
    share_contact: bool = False  # a "share my phone number" button exists (else the number is typed, or given)
    files_to_desk: bool = False  # a photo or document can go to the support desk by its file id (same platform)


NO_CAPABILITIES = Capabilities()


@dataclass(frozen=True, slots=True)
class Event:
    channel: Channel
    chat_id: str
    user_id: str
    kind: EventKind
    text: str = ""  # message text, or the arguments of a command
    command: str = ""  # lower-case command name without the slash
    action: str = ""  # button action name
    arg: str = ""  # button argument
    contact_phone: str | None = None  # the phone of a shared contact, as the platform gave it
    contact_is_own: bool = False  # the platform vouches that the contact is the sender's own number
    sender_phone: str | None = None  # the sender's own number, where the platform guarantees it (WhatsApp)
    document: Document | None = None
    private: bool = True  # a one-to-one chat (groups get a pointer to the private chat)
    language_hint: str | None = None  # the user's app language, if the platform tells it
    message_id: str | None = None
    photo: Document | None = None  # a photo (its largest size), e.g. for an admin's broadcast; kind DOCUMENT
    thread_id: str | None = None  # the forum topic of a group message (the support group's tickets, issue 8)
    sticker: bool = False  # kind UNSUPPORTED: it was a sticker (answered with something friendly, issue 13)
    can: Capabilities = NO_CAPABILITIES  # what the platform can do here (set by the channel's adapter)

    @property
    def principal(self) -> Principal:
        return Principal(self.channel, self.user_id)


class EventOrigin(TypedDict, total=False):
    """Where an incoming message came from: what a channel reads once and gives each kind of Event it builds
    (`Event(kind=..., **origin)`)."""

    channel: Required[Channel]
    can: Capabilities
    chat_id: Required[str]
    user_id: Required[str]
    private: bool
    language_hint: str | None
    message_id: str | None
    thread_id: str | None


@dataclass(frozen=True, slots=True)
class Button:
    """A button that sends an action back to the bot."""

    label: str
    action: str
    arg: str = ""

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > MAX_ACTION_BYTES:
            raise ValueError(f"button payload over {MAX_ACTION_BYTES} bytes: {self.payload!r}")
        if ACTION_SEPARATOR in self.action:
            raise ValueError(f"action name may not contain {ACTION_SEPARATOR!r}: {self.action!r}")

    @property
    def payload(self) -> str:
        return f"{self.action}{ACTION_SEPARATOR}{self.arg}" if self.arg else self.action


@dataclass(frozen=True, slots=True)
class LinkButton:
    """A button that opens a web address."""

    label: str
    url: str


AnyButton = Button | LinkButton


def parse_payload(payload: str) -> tuple[str, str]:
    action, _, arg = payload.partition(ACTION_SEPARATOR)
    return action, arg


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[tuple[AnyButton, ...], ...] = ()
    request_contact: str | None = None  # label of a "share my phone number" button
    # Which message the reply belongs to: a reply to a button press may replace the message the button was on.
    replace: bool = False
    # A photo (a platform file id) shown with the text as its caption: an admin's broadcast and its preview.
    photo: str | None = None


@dataclass(slots=True)
class Outgoing:
    """What a handler produced for one event: replies to this chat, and notices to other chats."""

    replies: list[Reply] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    forget_incoming: bool = False  # ask the platform to delete the user's message (it carried a NIK)


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to a chat other than the one being answered (e.g. the old chat of a moved link)."""

    channel: Channel
    chat_id: str
    reply: Reply
    code: str | None = None  # a one-time verification code in the reply: WhatsApp sends the authentication template


def rows(*buttons: AnyButton, per_row: int = 1) -> tuple[tuple[AnyButton, ...], ...]:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


class FileError(Exception):
    """A file a user sent could not be fetched: too large (`too_large`), gone, or the platform failed."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class FileFetcher(Protocol):
    """Downloads a file a user sent, by its platform file id; each channel provides one (Services.files)."""

    async def fetch(self, file_id: str, max_bytes: int) -> bytes:
        """The file's bytes; FileError if it is larger than `max_bytes` or cannot be fetched."""
        ...
