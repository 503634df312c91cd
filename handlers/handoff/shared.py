"""What the hand-off modules share: the one `Routes` they register on, the staff's language, the support group's
context (the group is no applicant's chat) and a ticket's applicant as support sees them."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.api import Event
from handlers.context import Context, Services
from handlers.i18n import DEFAULT_LOCALE, Translator, translator
from handlers.roles import Role
from handlers.router import Routes
from handlers.support import Person, find_people
from storage.models import Chat, ChatSnapshot, Ticket

routes = Routes()

SYSTEM = "system"  # the actor of what the bot does by itself (audit, notices)
STAFF_PERIOD = timedelta(days=7)  # /tiket and /metrics count closed tickets over this period


def staff_t() -> Translator:
    """Staff read the desk in the default language."""
    return translator(DEFAULT_LOCALE)


def _desk_snapshot(event: Event, now: datetime) -> ChatSnapshot:
    """The group is no applicant's chat: it gets no row (it must never be in a broadcast's audience)."""
    chat = Chat(id=0, channel=event.channel.value, external_id=event.chat_id, user_id=event.user_id,
                locale=DEFAULT_LOCALE, account_id=None, opted_out=True, blocked=False, video_watched_at=None,
                platforms_compared_at=None, training_chosen_at=None, training_bought_at=None, first_seen=now,
                last_seen=now)
    return ChatSnapshot(chat, None, None)


def desk_context(services: Services, event: Event, role: Role) -> Context:
    """A Context for an event in the support group (or the desk worker's own work there)."""
    return Context(event=event, services=services, snapshot=_desk_snapshot(event, services.clock()), role=role)


async def applicant_of(ctx: Context, ticket: Ticket) -> Person | None:
    """The ticket's applicant as support sees them (their account, if the chat is linked, and its chats)."""
    people, _ = await find_people(ctx, f"chat:{ticket.chat_id}")
    return people[0] if people else None
