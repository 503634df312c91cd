"""Tickets of the hand-off to support staff, and their messages (issue 8).

A ticket is an applicant's question to a person. Its messages go both ways: the applicant's ('in') and the bot's
notes ('note') wait in state 'queued' until a desk worker posts them in the ticket's topic of the support group
(`claim` takes a ticket with a lease, so two workers never post the same ticket, and a dead worker's ticket comes
back after the lease); staff answers ('out') are queued in the outbox by the caller and recorded here. Every status
change is audited in the same transaction. NIKs are masked by the caller before anything reaches this layer.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from storage.core import Repository, Row, Statement, Unit, as_time, count, one, rows, unit, value
from storage.models import (
    DeskBatch,
    Direction,
    PostKind,
    PostState,
    Received,
    StaffLoad,
    Ticket,
    TicketInput,
    TicketMessage,
    TicketState,
    TicketSummary,
)
from storage.repositories.chats import audit

DESK_ACTIONS = ("desk_removed", "desk_added")  # audit actions of the bot leaving / joining the support group
OPEN_TICKET = "SELECT * FROM tickets WHERE chat_id = ? AND state = 'open'"


def _ticket(r: Row) -> Ticket:
    return Ticket(
        id=r["id"], chat_id=r["chat_id"], account_id=r["account_id"], state=TicketState(r["state"]), label=r["label"],
        opened_at=as_time(r["opened_at"]), waiting_since=as_time(r["waiting_since"]),
        first_reply_at=as_time(r["first_reply_at"]), assignee=r["assignee"], topic_id=r["topic_id"],
        closed_at=as_time(r["closed_at"]), closed_by=r["closed_by"], rating=r["rating"],
    )


def _message(r: Row) -> TicketMessage:
    return TicketMessage(
        id=r["id"], ticket_id=r["ticket_id"], at=as_time(r["at"]), direction=Direction(r["direction"]),
        author=r["author"], kind=PostKind(r["kind"]), body=r["body"], file_id=r["file_id"], file_name=r["file_name"],
        file_size=r["file_size"], state=PostState(r["state"]),
    )


def subject(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def _insert(ticket_id: int, direction: Direction, author: str, message: TicketInput, state: PostState,
            now: datetime, platform_id: str | None = None) -> Statement:
    return value(
        "INSERT INTO ticket_messages (ticket_id, at, direction, author, kind, body, file_id, file_name, file_size,"
        " state, platform_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (ticket_id, now, direction.value, author, message.kind.value, message.body, message.file_id,
         message.file_name, message.file_size, state.value, platform_id),
    )


def _note(ticket_id: int, kind: PostKind, body: str, now: datetime) -> Statement:
    """A note of the bot for staff, queued for the topic."""
    return _insert(ticket_id, Direction.NOTE, "system", TicketInput(kind, body), PostState.QUEUED, now)


class TicketRepository(Repository):
    # --- reading --------------------------------------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._one(_ticket, "SELECT * FROM tickets WHERE id = ?", (ticket_id,))

    async def current(self, chat_id: int) -> Ticket | None:
        """The chat's open ticket, if it has one."""
        return await self._one(_ticket, OPEN_TICKET, (chat_id,))

    async def by_topic(self, topic_id: int) -> Ticket | None:
        return await self._one(_ticket, "SELECT * FROM tickets WHERE topic_id = ?", (topic_id,))

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        return await self._all(_message, "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id", (ticket_id,))

    async def opened_since(self, chat_id: int, since: datetime) -> list[datetime]:
        """When the chat's tickets opened after `since` were opened, oldest first (the limit on new tickets)."""
        return await self._all(lambda r: as_time(r["opened_at"]), "SELECT opened_at FROM tickets WHERE chat_id = ?"
                               " AND opened_at > ? ORDER BY opened_at", (chat_id, since))

    # --- the applicant ----------------------------------------------------------------------------------------
    @unit
    def open(self, chat_id: int, account_id: int | None, label: str, actor: str,
             now: datetime) -> Unit[tuple[Ticket, bool]]:
        """Open a ticket for the chat, or return its open one; True when this call opened it."""
        # The partial unique index (one open ticket per chat) decides between two processes opening at once.
        row = yield one("INSERT INTO tickets (chat_id, account_id, state, label, opened_at) VALUES (?, ?, 'open', ?, ?)"
                        " ON CONFLICT (chat_id) WHERE state = 'open' DO NOTHING RETURNING *",
                        (chat_id, account_id, label, now))
        if row is None:
            return _ticket((yield one(OPEN_TICKET, (chat_id,)))), False
        yield audit(actor, "applicant", "ticket_open", subject(row["id"]), f"chat:{chat_id}", now)
        return _ticket(row), True

    @unit
    def receive(self, ticket_id: int, author: str, message: TicketInput, now: datetime, flood: int,
                window: timedelta) -> Unit[Received]:
        """Keep an applicant's message for the topic; over `flood` messages of the chat within `window` it is
        kept as refused (not relayed)."""
        recent = yield one(
            "SELECT count(*) AS n, count(CASE WHEN m.state = 'refused' THEN 1 END) AS refused,"
            " (SELECT max(at) FROM ticket_messages WHERE ticket_id = ? AND direction = 'in'"
            "  AND state <> 'refused') AS previous"
            " FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id"
            " WHERE t.chat_id = (SELECT chat_id FROM tickets WHERE id = ?) AND m.direction = 'in' AND m.at > ?",
            (ticket_id, ticket_id, now - window),
        )
        refused = recent["n"] >= flood
        message_id = yield _insert(ticket_id, Direction.IN, author, message,
                                   PostState.REFUSED if refused else PostState.QUEUED, now)
        first_refusal = refused and recent["refused"] == 0
        if not refused:
            yield count("UPDATE tickets SET waiting_since = coalesce(waiting_since, ?) WHERE id = ? AND state = 'open'",
                        (now, ticket_id))
            yield audit(author, "applicant", "ticket_message", subject(ticket_id), message.kind.value, now)
        elif first_refusal:
            yield audit(author, "applicant", "ticket_flood", subject(ticket_id), f"{flood}/{window}", now)
        return Received(message_id, refused, first_refusal, as_time(recent["previous"]))

    async def note(self, ticket_id: int, body: str, now: datetime) -> int:
        """A note of the bot for staff, posted in the topic (e.g. media that cannot be relayed)."""
        statement = _note(ticket_id, PostKind.NOTE, body, now)
        return int(await self._db.fetchval(statement.sql, statement.params))

    @unit
    def rate(self, ticket_id: int, chat_id: int, rating: int, actor: str, note: str, now: datetime) -> Unit[bool]:
        """The applicant's 1-5 rating of a closed ticket of their chat, once; `note` tells staff."""
        done = yield count("UPDATE tickets SET rating = ?, rated_at = ? WHERE id = ? AND chat_id = ?"
                           " AND state = 'closed' AND rating IS NULL", (rating, now, ticket_id, chat_id))
        if done != 1:
            return False
        yield _note(ticket_id, PostKind.NOTE, note, now)
        yield audit(actor, "applicant", "ticket_rating", subject(ticket_id), str(rating), now)
        return True

    # --- staff ----------------------------------------------------------------------------------------------
    @unit
    def answered(self, ticket_id: int, author: str, role: str, body: str, broadcast_id: int,
                 now: datetime) -> Unit[None]:
        """Staff answered (the message is queued in the outbox as `broadcast_id`): the ticket stops waiting."""
        yield _insert(ticket_id, Direction.OUT, author, TicketInput(PostKind.TEXT, body), PostState.SENT, now,
                      str(broadcast_id))
        yield count("UPDATE tickets SET waiting_since = NULL, first_reply_at = coalesce(first_reply_at, ?),"
                    " assignee = coalesce(assignee, ?) WHERE id = ?", (now, author, ticket_id))
        yield audit(author, role, "ticket_reply", subject(ticket_id), None, now)

    @unit
    def close(self, ticket_id: int, actor: str, role: str, note: str, now: datetime) -> Unit[Ticket | None]:
        """Close an open ticket (None if it was not open); `note` is posted in the topic, which is then closed."""
        row = yield one("UPDATE tickets SET state = 'closed', closed_at = ?, closed_by = ?, waiting_since = NULL"
                        " WHERE id = ? AND state = 'open' RETURNING *", (now, actor, ticket_id))
        if row is None:
            return None
        yield _note(ticket_id, PostKind.CLOSE, note, now)
        yield audit(actor, role, "ticket_close", subject(ticket_id), None, now)
        return _ticket(row)

    # --- the desk worker --------------------------------------------------------------------------------------
    @unit
    def claim(self, limit: int, now: datetime, lease: timedelta) -> Unit[list[DeskBatch]]:
        """Up to `limit` tickets with messages to post (oldest message first), each with those messages in order.
        A ticket is held by one worker until `release` (or until its lease passes: the worker died)."""
        d = self._d
        claimed = yield rows("WITH q AS (SELECT ticket_id, min(id) AS first FROM ticket_messages WHERE state = 'queued'"
                             "  GROUP BY ticket_id),"
                             " c AS (SELECT t.id FROM tickets t JOIN q ON q.ticket_id = t.id"
                             "  WHERE t.desk_claimed_at IS NULL OR t.desk_claimed_at < ? ORDER BY q.first"
                             f"  LIMIT ?{d.lock('t', skip=True)})"
                             " UPDATE tickets SET desk_claimed_at = ? WHERE id IN (SELECT id FROM c) RETURNING *",
                             (now - lease, limit, now))
        if not claimed:
            return []
        where, params = d.isin("ticket_id", [r["id"] for r in claimed], "bigint")
        messages = yield rows(f"SELECT * FROM ticket_messages WHERE state = 'queued' AND {where} ORDER BY id", params)
        by_ticket: dict[int, list[TicketMessage]] = {r["id"]: [] for r in claimed}
        for m in messages:
            by_ticket[m["ticket_id"]].append(_message(m))
        batches = [DeskBatch(_ticket(r), tuple(by_ticket[r["id"]])) for r in claimed]
        return sorted(batches, key=lambda b: b.messages[0].id if b.messages else 0)

    async def release(self, ticket_id: int) -> None:
        await self._db.execute("UPDATE tickets SET desk_claimed_at = NULL WHERE id = ?", (ticket_id,))

    @unit
    def set_topic(self, ticket_id: int, topic_id: int) -> Unit[None]:
        yield count("UPDATE tickets SET topic_id = ? WHERE id = ?", (topic_id, ticket_id))
        yield audit("system", "support", "ticket_topic", subject(ticket_id), str(topic_id))

    @unit
    def topic_lost(self, ticket_id: int, topic_id: int) -> Unit[None]:
        """The topic was deleted in the group: the next post makes a new one."""
        if (yield count("UPDATE tickets SET topic_id = NULL WHERE id = ? AND topic_id = ?", (ticket_id, topic_id))):
            yield audit("system", "support", "ticket_topic_lost", subject(ticket_id), str(topic_id))

    async def was_posted(self, ticket_id: int) -> bool:
        """Something of this ticket was posted before (a new topic for it is a re-creation)."""
        return bool(await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ticket_messages WHERE ticket_id = ? AND state = 'posted')", (ticket_id,)
        ))

    async def posted(self, message_id: int, platform_id: str | None) -> None:
        await self._db.execute("UPDATE ticket_messages SET state = 'posted', platform_id = ?, error = NULL"
                               " WHERE id = ?", (platform_id, message_id))

    async def failed(self, message_id: int, error: str) -> None:
        await self._db.execute("UPDATE ticket_messages SET state = 'failed', error = ? WHERE id = ?",
                               (error, message_id))

    # --- figures ----------------------------------------------------------------------------------------------
    async def summary(self, since: datetime, limit: int) -> TicketSummary:
        """Open tickets (oldest first, `limit` of them), waiting ones, what waits for the group, per-staff load
        (tickets closed since `since`), and whether the bot is out of the support group."""
        desk, desk_params = self._d.isin("action", DESK_ACTIONS)
        counts = await self._db.fetchone(
            "SELECT count(*) AS open, count(waiting_since) AS waiting, min(waiting_since) AS oldest_wait,"
            " (SELECT count(*) FROM ticket_messages WHERE state = 'queued') AS queued,"
            f" (SELECT {self._d.json_array}(action, at) FROM audit_log WHERE {desk} ORDER BY id DESC LIMIT 1)"
            " AS desk FROM tickets WHERE state = 'open'",
            desk_params,
        )
        oldest = await self._all(_ticket, "SELECT * FROM tickets WHERE state = 'open' ORDER BY opened_at, id LIMIT ?",
                                 (limit,))
        staff = await self._db.fetchall(
            "SELECT assignee, count(CASE WHEN state = 'open' THEN 1 END) AS open,"
            " count(CASE WHEN state = 'closed' THEN 1 END) AS closed,"
            " avg(CASE WHEN state = 'closed' THEN rating END) AS rating,"
            " count(CASE WHEN state = 'closed' THEN rating END) AS ratings"
            " FROM tickets WHERE assignee IS NOT NULL AND (state = 'open' OR closed_at >= ?)"
            " GROUP BY assignee ORDER BY assignee",
            (since,),
        )
        action, at = json.loads(counts["desk"]) if counts["desk"] else (None, None)
        return TicketSummary(
            open=counts["open"], waiting=counts["waiting"], oldest=tuple(oldest),
            oldest_wait=as_time(counts["oldest_wait"]), queued_posts=counts["queued"],
            staff=tuple(StaffLoad(r["assignee"], r["open"], r["closed"],
                                  float(r["rating"]) if r["rating"] is not None else None, r["ratings"])
                        for r in staff),
            desk_removed_at=as_time(at) if action == "desk_removed" else None,
        )
