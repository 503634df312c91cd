"""Tickets of the hand-off to support staff on PostgreSQL: mirrors storage/sqlite/tickets.py (same methods, same
meaning). Several processes may run a desk worker: `claim` takes tickets with `FOR UPDATE SKIP LOCKED`, so each
ticket's messages are posted by one worker, in order; opening a ticket races safely on the one-open-per-chat index.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

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
from storage.postgres.database import Database, Transaction
from storage.postgres.repositories import audit
from storage.sqlite.tickets import DESK_ACTIONS, subject


def _ticket(r: asyncpg.Record) -> Ticket:
    return Ticket(
        id=r["id"], chat_id=r["chat_id"], account_id=r["account_id"], state=TicketState(r["state"]), label=r["label"],
        opened_at=r["opened_at"], waiting_since=r["waiting_since"], first_reply_at=r["first_reply_at"],
        assignee=r["assignee"], topic_id=r["topic_id"], closed_at=r["closed_at"], closed_by=r["closed_by"],
        rating=r["rating"],
    )


def _message(r: asyncpg.Record) -> TicketMessage:
    return TicketMessage(
        id=r["id"], ticket_id=r["ticket_id"], at=r["at"], direction=Direction(r["direction"]), author=r["author"],
        kind=PostKind(r["kind"]), body=r["body"], file_id=r["file_id"], file_name=r["file_name"],
        file_size=r["file_size"], state=PostState(r["state"]),
    )


async def _insert(tx: Transaction, ticket_id: int, direction: Direction, author: str, message: TicketInput,
                  state: PostState, now: datetime, platform_id: str | None = None) -> int:
    row = await tx.fetchone(
        "INSERT INTO ticket_messages (ticket_id, at, direction, author, kind, body, file_id, file_name, file_size,"
        " state, platform_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        (ticket_id, now, direction.value, author, message.kind.value, message.body, message.file_id,
         message.file_name, message.file_size, state.value, platform_id),
    )
    assert row is not None
    return int(row["id"])


class TicketRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reading --------------------------------------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._db.fetchone("SELECT * FROM tickets WHERE id = $1", (ticket_id,))
        return _ticket(row) if row else None

    async def current(self, chat_id: int) -> Ticket | None:
        """The chat's open ticket, if it has one."""
        row = await self._db.fetchone("SELECT * FROM tickets WHERE chat_id = $1 AND state = 'open'", (chat_id,))
        return _ticket(row) if row else None

    async def by_topic(self, topic_id: int) -> Ticket | None:
        row = await self._db.fetchone("SELECT * FROM tickets WHERE topic_id = $1", (topic_id,))
        return _ticket(row) if row else None

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        rows = await self._db.fetchall("SELECT * FROM ticket_messages WHERE ticket_id = $1 ORDER BY id", (ticket_id,))
        return [_message(r) for r in rows]

    # --- the applicant ----------------------------------------------------------------------------------------
    async def open(self, chat_id: int, account_id: int | None, label: str, actor: str,
                   now: datetime) -> tuple[Ticket, bool]:
        """Open a ticket for the chat, or return its open one; True when this call opened it."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO tickets (chat_id, account_id, state, label, opened_at) VALUES ($1, $2, 'open', $3, $4)"
                " ON CONFLICT (chat_id) WHERE state = 'open' DO NOTHING RETURNING *",
                (chat_id, account_id, label, now),
            )
            if row is None:
                existing = await tx.fetchone("SELECT * FROM tickets WHERE chat_id = $1 AND state = 'open'", (chat_id,))
                assert existing is not None
                return _ticket(existing), False
            await audit(tx, actor, "applicant", "ticket_open", subject(row["id"]), f"chat:{chat_id}")
        return _ticket(row), True

    async def receive(self, ticket_id: int, author: str, message: TicketInput, now: datetime, flood: int,
                      window: timedelta) -> Received:
        """Keep an applicant's message for the topic; over `flood` messages of the chat within `window` it is
        kept as refused (not relayed)."""
        async with self._db.transaction() as tx:
            recent = await tx.fetchone(
                "SELECT count(*) AS n, count(*) FILTER (WHERE m.state = 'refused') AS refused,"
                " (SELECT max(at) FROM ticket_messages WHERE ticket_id = $1 AND direction = 'in'"
                "  AND state <> 'refused') AS previous"
                " FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id"
                " WHERE t.chat_id = (SELECT chat_id FROM tickets WHERE id = $1) AND m.direction = 'in' AND m.at > $2",
                (ticket_id, now - window),
            )
            assert recent is not None
            refused = recent["n"] >= flood
            state = PostState.REFUSED if refused else PostState.QUEUED
            message_id = await _insert(tx, ticket_id, Direction.IN, author, message, state, now)
            first_refusal = refused and recent["refused"] == 0
            if not refused:
                await tx.execute(
                    "UPDATE tickets SET waiting_since = coalesce(waiting_since, $1) WHERE id = $2 AND state = 'open'",
                    (now, ticket_id),
                )
                await audit(tx, author, "applicant", "ticket_message", subject(ticket_id), message.kind.value)
            elif first_refusal:
                await audit(tx, author, "applicant", "ticket_flood", subject(ticket_id), f"{flood}/{window}")
        return Received(message_id, refused, first_refusal, recent["previous"])

    async def note(self, ticket_id: int, body: str, now: datetime) -> int:
        """A note of the bot for staff, posted in the topic (e.g. media that cannot be relayed)."""
        async with self._db.transaction() as tx:
            return await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.NOTE, body),
                                 PostState.QUEUED, now)

    async def rate(self, ticket_id: int, chat_id: int, rating: int, actor: str, note: str, now: datetime) -> bool:
        """The applicant's 1-5 rating of a closed ticket of their chat, once; `note` tells staff."""
        async with self._db.transaction() as tx:
            done = await tx.execute(
                "UPDATE tickets SET rating = $1, rated_at = $2 WHERE id = $3 AND chat_id = $4 AND state = 'closed'"
                " AND rating IS NULL",
                (rating, now, ticket_id, chat_id),
            )
            if done != 1:
                return False
            await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.NOTE, note),
                          PostState.QUEUED, now)
            await audit(tx, actor, "applicant", "ticket_rating", subject(ticket_id), str(rating))
        return True

    # --- staff ----------------------------------------------------------------------------------------------
    async def answered(self, ticket_id: int, author: str, role: str, body: str, broadcast_id: int,
                       now: datetime) -> None:
        """Staff answered (the message is queued in the outbox as `broadcast_id`): the ticket stops waiting."""
        async with self._db.transaction() as tx:
            await _insert(tx, ticket_id, Direction.OUT, author, TicketInput(PostKind.TEXT, body), PostState.SENT,
                          now, str(broadcast_id))
            await tx.execute(
                "UPDATE tickets SET waiting_since = NULL, first_reply_at = coalesce(first_reply_at, $1),"
                " assignee = coalesce(assignee, $2) WHERE id = $3",
                (now, author, ticket_id),
            )
            await audit(tx, author, role, "ticket_reply", subject(ticket_id), None)

    async def close(self, ticket_id: int, actor: str, role: str, note: str, now: datetime) -> Ticket | None:
        """Close an open ticket (None if it was not open); `note` is posted in the topic, which is then closed."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE tickets SET state = 'closed', closed_at = $1, closed_by = $2, waiting_since = NULL"
                " WHERE id = $3 AND state = 'open' RETURNING *",
                (now, actor, ticket_id),
            )
            if row is None:
                return None
            await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.CLOSE, note),
                          PostState.QUEUED, now)
            await audit(tx, actor, role, "ticket_close", subject(ticket_id), None)
        return _ticket(row)

    # --- the desk worker --------------------------------------------------------------------------------------
    async def claim(self, limit: int, now: datetime, lease: timedelta) -> list[DeskBatch]:
        """Up to `limit` tickets with messages to post (oldest message first), each with those messages in order.
        A ticket is held by one worker until `release` (or until its lease passes: the worker died)."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "WITH q AS (SELECT ticket_id, min(id) AS first FROM ticket_messages WHERE state = 'queued'"
                "  GROUP BY ticket_id),"
                " c AS (SELECT t.id, q.first FROM tickets t JOIN q ON q.ticket_id = t.id"
                "  WHERE t.desk_claimed_at IS NULL OR t.desk_claimed_at < $2 ORDER BY q.first LIMIT $3"
                "  FOR UPDATE OF t SKIP LOCKED)"
                " UPDATE tickets SET desk_claimed_at = $1 FROM c WHERE tickets.id = c.id RETURNING tickets.*, c.first",
                (now, now - lease, limit),
            )
            if not rows:
                return []
            messages = await tx.fetchall(
                "SELECT * FROM ticket_messages WHERE state = 'queued' AND ticket_id = ANY($1::bigint[]) ORDER BY id",
                ([r["id"] for r in rows],),
            )
        by_ticket: dict[int, list[TicketMessage]] = {r["id"]: [] for r in rows}
        for m in messages:
            by_ticket[m["ticket_id"]].append(_message(m))
        ordered = sorted(rows, key=lambda r: r["first"])
        return [DeskBatch(_ticket(r), tuple(by_ticket[r["id"]])) for r in ordered]

    async def release(self, ticket_id: int) -> None:
        await self._db.execute("UPDATE tickets SET desk_claimed_at = NULL WHERE id = $1", (ticket_id,))

    async def set_topic(self, ticket_id: int, topic_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE tickets SET topic_id = $1 WHERE id = $2", (topic_id, ticket_id))
            await audit(tx, "system", "support", "ticket_topic", subject(ticket_id), str(topic_id))

    async def topic_lost(self, ticket_id: int, topic_id: int) -> None:
        """The topic was deleted in the group: the next post makes a new one."""
        async with self._db.transaction() as tx:
            done = await tx.execute("UPDATE tickets SET topic_id = NULL WHERE id = $1 AND topic_id = $2",
                                    (ticket_id, topic_id))
            if done:
                await audit(tx, "system", "support", "ticket_topic_lost", subject(ticket_id), str(topic_id))

    async def was_posted(self, ticket_id: int) -> bool:
        """Something of this ticket was posted before (a new topic for it is a re-creation)."""
        return bool(await self._db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ticket_messages WHERE ticket_id = $1 AND state = 'posted')", (ticket_id,)
        ))

    async def posted(self, message_id: int, platform_id: str | None) -> None:
        await self._db.execute(
            "UPDATE ticket_messages SET state = 'posted', platform_id = $1, error = NULL WHERE id = $2",
            (platform_id, message_id),
        )

    async def failed(self, message_id: int, error: str) -> None:
        await self._db.execute(
            "UPDATE ticket_messages SET state = 'failed', error = $1 WHERE id = $2", (error, message_id)
        )

    # --- figures ----------------------------------------------------------------------------------------------
    async def summary(self, since: datetime, limit: int) -> TicketSummary:
        """Open tickets (oldest first, `limit` of them), waiting ones, what waits for the group, per-staff load
        (tickets closed since `since`), and whether the bot is out of the support group."""
        counts = await self._db.fetchone(
            "SELECT count(*) AS open, count(waiting_since) AS waiting, min(waiting_since) AS oldest_wait,"
            " (SELECT count(*) FROM ticket_messages WHERE state = 'queued') AS queued,"
            " (SELECT action FROM audit_log WHERE action = ANY($1::text[]) ORDER BY id DESC LIMIT 1) AS desk,"
            " (SELECT at FROM audit_log WHERE action = ANY($1::text[]) ORDER BY id DESC LIMIT 1) AS desk_at"
            " FROM tickets WHERE state = 'open'",
            (list(DESK_ACTIONS),),
        )
        oldest = await self._db.fetchall(
            "SELECT * FROM tickets WHERE state = 'open' ORDER BY opened_at, id LIMIT $1", (limit,)
        )
        staff = await self._db.fetchall(
            "SELECT assignee, count(*) FILTER (WHERE state = 'open') AS open,"
            " count(*) FILTER (WHERE state = 'closed') AS closed,"
            " avg(rating) FILTER (WHERE state = 'closed') AS rating,"
            " count(rating) FILTER (WHERE state = 'closed') AS ratings"
            " FROM tickets WHERE assignee IS NOT NULL AND (state = 'open' OR closed_at >= $1)"
            " GROUP BY assignee ORDER BY assignee",
            (since,),
        )
        assert counts is not None
        return TicketSummary(
            open=counts["open"], waiting=counts["waiting"], oldest=tuple(_ticket(r) for r in oldest),
            oldest_wait=counts["oldest_wait"], queued_posts=counts["queued"],
            staff=tuple(StaffLoad(r["assignee"], r["open"], r["closed"],
                                  float(r["rating"]) if r["rating"] is not None else None, r["ratings"])
                        for r in staff),
            desk_removed_at=counts["desk_at"] if counts["desk"] == "desk_removed" else None,
        )
