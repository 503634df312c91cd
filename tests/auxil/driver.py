"""Drive one chat through the real router, as a channel would, and read what came back."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.channels import console
from bot.channels.telegram import updates as telegram
from bot.channels.whatsapp import inbound as whatsapp
from handlers.api import Button, Capabilities, Event, EventKind, Outgoing, Reply
from handlers.roles import Channel
from handlers.router import Router

# What each channel's adapter says its events can do (design note 21): the driver's events say the same.
CAPABILITIES = {Channel.TELEGRAM: telegram.CAPABILITIES, Channel.WHATSAPP: whatsapp.CAPABILITIES,
                Channel.CONSOLE: console.CAPABILITIES}


@dataclass
class ChatDriver:
    router: Router
    user_id: str
    chat_id: str | None = None
    channel: Channel = Channel.CONSOLE
    language_hint: str | None = "id"
    can: Capabilities | None = None  # what the events can do; None: what the channel's adapter says
    last: Outgoing = field(default_factory=Outgoing)

    def _event(self, **fields: object) -> Event:
        base: dict[str, object] = {"channel": self.channel, "can": self.can or CAPABILITIES[self.channel],
                                   "chat_id": self.chat_id or self.user_id,
                                   "user_id": self.user_id, "language_hint": self.language_hint}
        base.update(fields)
        return Event(**base)  # type: ignore[arg-type]

    async def send(self, event: Event) -> Outgoing:
        self.last = await self.router.handle(event)
        return self.last

    async def command(self, name: str, args: str = "") -> Outgoing:
        return await self.send(self._event(kind=EventKind.COMMAND, command=name, text=args))

    async def text(self, text: str) -> Outgoing:
        return await self.send(self._event(kind=EventKind.TEXT, text=text))

    async def contact(self, phone: str, own: bool = True) -> Outgoing:
        return await self.send(self._event(kind=EventKind.CONTACT, contact_phone=phone, contact_is_own=own))

    async def press(self, label: str) -> Outgoing:
        """Press the button labelled `label` (substring match) on the last replies."""
        button = self.button(label)
        return await self.send(self._event(kind=EventKind.ACTION, action=button.action, arg=button.arg))

    async def action(self, action: str, arg: str = "") -> Outgoing:
        return await self.send(self._event(kind=EventKind.ACTION, action=action, arg=arg))

    def button(self, label: str) -> Button:
        for reply in self.last.replies:
            for row in reply.buttons:
                for b in row:
                    if isinstance(b, Button) and label.lower() in b.label.lower():
                        return b
        raise AssertionError(f"no button {label!r} in {self.labels}")

    @property
    def labels(self) -> list[str]:
        return [b.label for r in self.last.replies for row in r.buttons for b in row]

    @property
    def replies(self) -> list[Reply]:
        return self.last.replies

    @property
    def text_out(self) -> str:
        return "\n".join(r.text for r in self.last.replies)

    async def link(self, phone: str, nik: str) -> Outgoing:
        await self.command("hubungkan")
        await self.contact(phone)
        return await self.text(nik)
