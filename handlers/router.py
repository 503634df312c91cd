"""The single door: maps commands, button actions, steps and free text to handlers, role checked first.

Deny by default: a route names the roles that may use it, and a caller without one gets exactly what an unknown
command gets, so the bot does not reveal that the command exists. Button payloads are never trusted: an action
is checked like a command, every time.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from handlers.api import Event, EventKind, Outgoing, Reply
from handlers.context import SOFT_STEPS, Context, Services, Step
from handlers.i18n import normalize_locale, translator
from handlers.identity import looks_like_nik, mask_niks
from handlers.roles import Role
from handlers.understanding.lexicon import Lexicon, words
from storage import StorageError

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]
# A step's handler may decline a text (return False, having ended its step): it is then read as free text, as a
# question typed in the middle of the eligibility quiz is.
StepHandler = Callable[[Context], Awaitable[bool | None]]
# The decorators hand back the function as it was (with its own signature, e.g. optional arguments).
H = TypeVar("H", bound=Handler)
S = TypeVar("S", bound=StepHandler)

# The action every menu button uses to run a command: Button(label, GO, "hasil") runs /hasil.
GO = "go"


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    roles: frozenset[Role]


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.SUPPORT, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


@dataclass
class Routes:
    """A handler module's routes, collected by decorators and merged into the Router."""

    commands: dict[str, Route] = field(default_factory=dict)
    actions: dict[str, Route] = field(default_factory=dict)
    steps: dict[Step, StepHandler] = field(default_factory=dict)
    menu_order: list[tuple[int, str]] = field(default_factory=list)

    def command(self, *names: str, roles: frozenset[Role] = ALL_ROLES) -> Callable[[H], H]:
        def register(fn: H) -> H:
            for name in names:
                self.commands[name] = Route(fn, roles)
            return fn

        return register

    def action(self, *names: str, roles: frozenset[Role] = ALL_ROLES) -> Callable[[H], H]:
        def register(fn: H) -> H:
            for name in names:
                self.actions[name] = Route(fn, roles)
            return fn

        return register

    def step(self, *steps: Step) -> Callable[[S], S]:
        def register(fn: S) -> S:
            for step in steps:
                self.steps[step] = fn
            return fn

        return register


@dataclass(frozen=True, slots=True)
class Fallbacks:
    """Handlers the router calls when nothing else matches (provided by the menu, link and scam modules)."""

    menu: Handler  # unknown input: the menu with a hint
    has_links: Callable[[str], bool]  # does free text carry a link (then `links` checks it against scams)
    unknown_action: Handler  # a stale or forged button
    contact: Handler  # a shared phone number outside a step
    links: Handler  # a message with a link: the anti-scam check
    edited: Handler
    unsupported: Handler
    document: Handler
    group: Callable[[Event], Reply]
    # The support group (issue 8): handles a group's event when it is the desk's (else None: `group` answers).
    desk: Callable[[Router, Event], Awaitable[Outgoing | None]] | None = None
    # Free text nothing else took (issue 13): understood and answered (else `menu` answers it).
    text: Callable[[Router, Context], Awaitable[None]] | None = None
    # The command whose button label a text is ("Kartu & saldo" typed from an earlier message), if any.
    label_command: Callable[[str], str | None] | None = None


class Router:
    def __init__(self, services: Services, modules: Iterable[Routes], fallbacks: Fallbacks) -> None:
        self.services = services
        self.fallbacks = fallbacks
        self.commands: dict[str, Route] = {}
        self.actions: dict[str, Route] = {}
        self.steps: dict[Step, StepHandler] = {}
        # Called after each update with the event and the seconds it took (metrics); must not raise.
        self.observers: list[Callable[[Event, float], None]] = []
        for routes in modules:
            for table, new in ((self.commands, routes.commands), (self.actions, routes.actions)):
                clash = table.keys() & new.keys()
                if clash:
                    raise ValueError(f"routes registered twice: {sorted(clash)}")
                table.update(new)
            self.steps.update(routes.steps)

    def role_of(self, event: Event, granted: str | None = None) -> Role:
        """The configured role (ADMIN_IDS, SUPPORT_IDS) or the one an admin granted (/peran), whichever is higher."""
        config = self.services.config
        principal = event.principal
        if principal in config.admins or granted == Role.ADMIN:
            return Role.ADMIN
        if principal in config.support or granted == Role.SUPPORT:
            return Role.SUPPORT
        return Role.APPLICANT

    async def handle(self, event: Event) -> Outgoing:
        """Handle one event and return what to send. Never raises for bad input; logs and apologises on bugs."""
        start = time.perf_counter()
        out = await self._handle(event)
        for observe in self.observers:
            observe(event, time.perf_counter() - start)
        return out

    async def _handle(self, event: Event) -> Outgoing:
        if not event.private:
            desk = await self.fallbacks.desk(self, event) if self.fallbacks.desk is not None else None
            # The support group, where the bot is an admin: staff's messages follow the NIK rule too; so do other
            # groups' (the channel says there whether the pointer to the private chat goes out at all).
            out = desk if desk is not None else Outgoing(replies=[self.fallbacks.group(event)])
        else:
            out = await self._private(event)
        # One rule, whatever the step or handler: a message that holds a NIK leaves the chat where the platform
        # allows (at the NIK step, in a search, a link check, a ticket, after a lock-out, with the database away).
        if looks_like_nik(event.text):
            out.forget_incoming = True
        return out

    async def _private(self, event: Event) -> Outgoing:
        try:
            # A new chat starts in the language of the user's app (English or Indonesian), then /bahasa rules.
            snapshot = await self.services.storage.chats.snapshot(
                event.channel.value, event.chat_id, event.user_id, normalize_locale(event.language_hint)
            )
        except StorageError:
            log.exception("storage unavailable")
            return Outgoing(replies=[_busy(event)])
        role = self.role_of(event, snapshot.granted_role)
        ctx = Context(event=event, services=self.services, snapshot=snapshot, role=role)
        try:
            await self._dispatch(ctx)
        except StorageError:
            log.exception("storage failed while handling %s", event.kind)
            ctx.out.replies[:] = [_busy(event, ctx.chat.locale)]
        except Exception:
            log.exception("handler failed on %s %s", event.kind, event.command or event.action)
            t = ctx.t
            ctx.out.replies[:] = [Reply(t.gettext("Maaf, terjadi kesalahan di sistem kami. Silakan coba lagi."))]
        return ctx.out

    def allowed(self, route: Route, ctx: Context) -> bool:
        return ctx.role in route.roles

    async def run_command(self, ctx: Context, name: str) -> bool:
        route = self.commands.get(name)
        if route is None or not self.allowed(route, ctx):
            return False
        await route.handler(ctx)
        return True

    async def _dispatch(self, ctx: Context) -> None:
        event = ctx.event
        match event.kind:
            case EventKind.COMMAND:
                await ctx.end_step()
                if not await self.run_command(ctx, event.command):
                    await self.fallbacks.menu(ctx)
            case EventKind.ACTION:
                if event.action == GO:
                    await ctx.end_step()
                    if not await self.run_command(ctx, event.arg):
                        await self.fallbacks.unknown_action(ctx)
                    return
                route = self.actions.get(event.action)
                if route is None or not self.allowed(route, ctx):
                    await self.fallbacks.unknown_action(ctx)
                    return
                await route.handler(ctx)
            case EventKind.CONTACT:
                step_handler = self.steps.get(ctx.step) if ctx.step else None
                await (step_handler if ctx.step is Step.LINK_AWAIT_CONTACT and step_handler else
                       self.fallbacks.contact)(ctx)
            case EventKind.TEXT:
                await self._text(ctx)
            case EventKind.EDITED:
                await self.fallbacks.edited(ctx)
            case EventKind.DOCUMENT:
                await self.fallbacks.document(ctx)
            case _:
                await self.fallbacks.unsupported(ctx)

    async def _text(self, ctx: Context) -> None:
        text = ctx.event.text.strip()
        word = text.lstrip("/").lower()
        free = ctx.step is None or ctx.step in SOFT_STEPS
        # Bare command words ("menu", "hasil") work like commands; in a step only the escape words do ("batal",
        # "kembali!", "Cancel"), so a keyword typed into a search is not taken for a command. A menu label typed
        # from an earlier message ("Kartu & saldo") runs its command too, except where the text is content.
        escape = escape_command(text, self.services.understanding.lexicon)
        label = self.fallbacks.label_command(text) if self.fallbacks.label_command else None
        command = escape or (word if free and word in self.commands else None)
        if command is None and label is not None and (free or ctx.step in LABELS_WORK_IN):
            command = label
        if command is not None:
            await ctx.end_step()
            if await self.run_command(ctx, command):
                return
        step = ctx.step
        if step is not None and step in self.steps and await self.steps[step](ctx) is not False:
            return
        if self.fallbacks.has_links(text):
            await self.fallbacks.links(ctx)
            return
        if self.fallbacks.text is not None:
            await self.fallbacks.text(self, ctx)
            return
        await self.fallbacks.menu(ctx)


# Words that leave any step and go to a command, compared as words ("Batal!", "kembali ke menu"), written out and
# without address words or particles ("batal kak", "ga jadi deh", "cancel aja").
ESCAPE_WORDS = {"menu": "menu", "batal": "menu", "batalkan": "menu", "cancel": "menu", "kembali": "menu",
                "back": "menu", "kembali ke menu": "menu", "ke menu": "menu", "menu utama": "menu", "main menu": "menu",
                "kembali ke menu utama": "menu", "go back": "menu", "tidak jadi": "menu", "batalin": "menu",
                "never mind": "menu", "nevermind": "menu", "forget it": "menu", "start": "start",
                "bantuan": "bantuan"}
_ESCAPE_VOCABULARY = frozenset(word for phrase in ESCAPE_WORDS for word in phrase.split())
# Steps where a typed menu label leaves the step for its command (not where the text is content: a question for
# staff, a broadcast, an admin's input).
LABELS_WORK_IN = frozenset({Step.LINK_AWAIT_CONTACT, Step.LINK_AWAIT_NIK, Step.LINK_AWAIT_CODE, Step.ELIGIBILITY,
                            Step.SCAM_AWAIT_MESSAGE, Step.TRAINING_AWAIT_KEYWORD})


def escape_command(text: str, lexicon: Lexicon | None = None) -> str | None:
    """The command an escape word names, if the text is one (any case, punctuation or emoji around it; with a
    lexicon, abbreviations written out and particles left out: "gk jadi kak" is "tidak jadi")."""
    if len(text) > MAX_ESCAPE_CHARS:
        return None
    typed = words(text)
    command = ESCAPE_WORDS.get(" ".join(typed))
    if command is not None or lexicon is None:
        return command
    written = [full for word in typed for full in lexicon.abbreviations.get(word, (word,))]
    kept = [word for word in written if word in _ESCAPE_VOCABULARY or word not in lexicon.particles]
    return ESCAPE_WORDS.get(" ".join(kept))


MAX_ESCAPE_CHARS = 40


def _busy(event: Event, locale: str | None = None) -> Reply:
    t = translator(locale or normalize_locale(event.language_hint))
    return Reply(t.gettext("Sistem sedang sibuk. Mohon coba lagi dalam beberapa menit."))


def escape(text: str) -> str:
    """User-provided text made safe for a Reply: HTML-escaped, and any NIK in it masked (one rule, DESIGN.md 4), so a
    reply that echoes what was typed (a search, a link check, a ticket) never repeats a NIK."""
    return html.escape(mask_niks(text), quote=False)
