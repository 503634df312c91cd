"""Tickets of the hand-off to support staff, and their messages, on SQLite (issue 8).

A ticket is an applicant's question to a person. Its messages go both ways: the applicant's ('in') and the bot's
notes ('note') wait in state 'queued' until a desk worker posts them in the ticket's topic of the support group
(`claim` takes a ticket with a lease, so two workers never post the same ticket, and a dead worker's ticket comes
back after the lease); staff answers ('out') are queued in the outbox by the caller and recorded here. Every status
change is audited in the same transaction. NIKs are masked by the caller before anything reaches this layer.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

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
from storage.sqlite.database import Database, Transaction, from_db_time, to_db_time
from storage.sqlite.repositories import _audit

DESK_ACTIONS = ("desk_removed", "desk_added")  # audit actions of the bot leaving / joining the support group


def _ticket(r: sqlite3.Row) -> Ticket:
    return Ticket(
        id=r["id"], chat_id=r["chat_id"], account_id=r["account_id"], state=TicketState(r["state"]), label=r["label"],
        opened_at=from_db_time(r["opened_at"]),  # type: ignore[arg-type]
        waiting_since=from_db_time(r["waiting_since"]), first_reply_at=from_db_time(r["first_reply_at"]),
        assignee=r["assignee"], topic_id=r["topic_id"], closed_at=from_db_time(r["closed_at"]),
        closed_by=r["closed_by"], rating=r["rating"],
    )


def _message(r: sqlite3.Row) -> TicketMessage:
    return TicketMessage(
        id=r["id"], ticket_id=r["ticket_id"], at=from_db_time(r["at"]),  # type: ignore[arg-type]
        direction=Direction(r["direction"]), author=r["author"], kind=PostKind(r["kind"]), body=r["body"],
        file_id=r["file_id"], file_name=r["file_name"], file_size=r["file_size"], state=PostState(r["state"]),
    )


def subject(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


async def _insert(tx: Transaction, ticket_id: int, direction: Direction, author: str, message: TicketInput,
                  state: PostState, now: datetime, platform_id: str | None = None) -> int:
    row = await tx.fetchone(
        "INSERT INTO ticket_messages (ticket_id, at, direction, author, kind, body, file_id, file_name, file_size,"
        " state, platform_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (ticket_id, to_db_time(now), direction.value, author, message.kind.value, message.body, message.file_id,
         message.file_name, message.file_size, state.value, platform_id),
    )
    assert row is not None
    return int(row["id"])


class TicketRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reading --------------------------------------------------------------------------------------------
    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._db.fetchone("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return _ticket(row) if row else None

    async def current(self, chat_id: int) -> Ticket | None:
        """The chat's open ticket, if it has one."""
        row = await self._db.fetchone("SELECT * FROM tickets WHERE chat_id = ? AND state = 'open'", (chat_id,))
        return _ticket(row) if row else None

    async def by_topic(self, topic_id: int) -> Ticket | None:
        row = await self._db.fetchone("SELECT * FROM tickets WHERE topic_id = ?", (topic_id,))
        return _ticket(row) if row else None

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        rows = await self._db.fetchall("SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        return [_message(r) for r in rows]

    # --- the applicant ----------------------------------------------------------------------------------------
    async def open(self, chat_id: int, account_id: int | None, label: str, actor: str,
                   now: datetime) -> tuple[Ticket, bool]:
        """Open a ticket for the chat, or return its open one; True when this call opened it."""
        async with self._db.transaction() as tx:
            existing = await tx.fetchone("SELECT * FROM tickets WHERE chat_id = ? AND state = 'open'", (chat_id,))
            if existing is not None:
                return _ticket(existing), False
            row = await tx.fetchone(
                "INSERT INTO tickets (chat_id, account_id, state, label, opened_at) VALUES (?, ?, 'open', ?, ?)"
                " RETURNING *",
                (chat_id, account_id, label, to_db_time(now)),
            )
            assert row is not None
            await _audit(tx, actor, "applicant", "ticket_open", subject(row["id"]), f"chat:{chat_id}")
        return _ticket(row), True

    async def receive(self, ticket_id: int, author: str, message: TicketInput, now: datetime, flood: int,
                      window: timedelta) -> Received:
        """Keep an applicant's message for the topic; over `flood` messages of the chat within `window` it is
        kept as refused (not relayed)."""
        async with self._db.transaction() as tx:
            recent = await tx.fetchone(
                "SELECT count(*) AS n, coalesce(sum(m.state = 'refused'), 0) AS refused"
                " FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id"
                " WHERE t.chat_id = (SELECT chat_id FROM tickets WHERE id = ?) AND m.direction = 'in' AND m.at > ?",
                (ticket_id, to_db_time(now - window)),
            )
            previous = await tx.fetchone(
                "SELECT max(at) AS at FROM ticket_messages WHERE ticket_id = ? AND direction = 'in'"
                " AND state != 'refused'", (ticket_id,),
            )
            refused = recent is not None and recent["n"] >= flood
            state = PostState.REFUSED if refused else PostState.QUEUED
            message_id = await _insert(tx, ticket_id, Direction.IN, author, message, state, now)
            first_refusal = refused and recent is not None and recent["refused"] == 0
            if not refused:
                await tx.execute(
                    "UPDATE tickets SET waiting_since = coalesce(waiting_since, ?) WHERE id = ? AND state = 'open'",
                    (to_db_time(now), ticket_id),
                )
                await _audit(tx, author, "applicant", "ticket_message", subject(ticket_id), message.kind.value)
            elif first_refusal:
                await _audit(tx, author, "applicant", "ticket_flood", subject(ticket_id), f"{flood}/{window}")
        return Received(message_id, refused, first_refusal, from_db_time(previous["at"]) if previous else None)

    async def note(self, ticket_id: int, body: str, now: datetime) -> int:
        """A note of the bot for staff, posted in the topic (e.g. media that cannot be relayed)."""
        async with self._db.transaction() as tx:
            return await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.NOTE, body),
                                 PostState.QUEUED, now)

    async def rate(self, ticket_id: int, chat_id: int, rating: int, actor: str, note: str, now: datetime) -> bool:
        """The applicant's 1-5 rating of a closed ticket of their chat, once; `note` tells staff."""
        async with self._db.transaction() as tx:
            done = await tx.execute(
                "UPDATE tickets SET rating = ?, rated_at = ? WHERE id = ? AND chat_id = ? AND state = 'closed'"
                " AND rating IS NULL",
                (rating, to_db_time(now), ticket_id, chat_id),
            )
            if done != 1:
                return False
            await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.NOTE, note),
                          PostState.QUEUED, now)
            await _audit(tx, actor, "applicant", "ticket_rating", subject(ticket_id), str(rating))
        return True

    # --- staff ----------------------------------------------------------------------------------------------
    async def answered(self, ticket_id: int, author: str, role: str, body: str, broadcast_id: int,
                       now: datetime) -> None:
        """Staff answered (the message is queued in the outbox as `broadcast_id`): the ticket stops waiting."""
        async with self._db.transaction() as tx:
            await _insert(tx, ticket_id, Direction.OUT, author, TicketInput(PostKind.TEXT, body), PostState.SENT,
                          now, str(broadcast_id))
            await tx.execute(
                "UPDATE tickets SET waiting_since = NULL, first_reply_at = coalesce(first_reply_at, ?),"
                " assignee = coalesce(assignee, ?) WHERE id = ?",
                (to_db_time(now), author, ticket_id),
            )
            await _audit(tx, author, role, "ticket_reply", subject(ticket_id), None)

    async def close(self, ticket_id: int, actor: str, role: str, note: str, now: datetime) -> Ticket | None:
        """Close an open ticket (None if it was not open); `note` is posted in the topic, which is then closed."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE tickets SET state = 'closed', closed_at = ?, closed_by = ?, waiting_since = NULL"
                " WHERE id = ? AND state = 'open' RETURNING *",
                (to_db_time(now), actor, ticket_id),
            )
            if row is None:
                return None
            await _insert(tx, ticket_id, Direction.NOTE, "system", TicketInput(PostKind.CLOSE, note),
                          PostState.QUEUED, now)
            await _audit(tx, actor, role, "ticket_close", subject(ticket_id), None)
        return _ticket(row)

    # --- the desk worker --------------------------------------------------------------------------------------
    async def claim(self, limit: int, now: datetime, lease: timedelta) -> list[DeskBatch]:
        """Up to `limit` tickets with messages to post (oldest message first), each with those messages in order.
        A ticket is held by one worker until `release` (or until its lease passes: the worker died)."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "UPDATE tickets SET desk_claimed_at = ? WHERE id IN ("
                " SELECT q.ticket_id FROM (SELECT ticket_id, min(id) AS first FROM ticket_messages"
                "  WHERE state = 'queued' GROUP BY ticket_id) q JOIN tickets t ON t.id = q.ticket_id"
                "  WHERE t.desk_claimed_at IS NULL OR t.desk_claimed_at < ? ORDER BY q.first LIMIT ?)"
                " RETURNING *",
                (to_db_time(now), to_db_time(now - lease), limit),
            )
            if not rows:
                return []
            marks = ",".join("?" * len(rows))
            messages = await tx.fetchall(
                f"SELECT * FROM ticket_messages WHERE state = 'queued' AND ticket_id IN ({marks}) ORDER BY id",
                tuple(r["id"] for r in rows),
            )
        by_ticket: dict[int, list[TicketMessage]] = {r["id"]: [] for r in rows}
        for m in messages:
            by_ticket[m["ticket_id"]].append(_message(m))
        batches = [DeskBatch(_ticket(r), tuple(by_ticket[r["id"]])) for r in rows]
        return sorted(batches, key=lambda b: b.messages[0].id if b.messages else 0)

    async def release(self, ticket_id: int) -> None:
        await self._db.execute("UPDATE tickets SET desk_claimed_at = NULL WHERE id = ?", (ticket_id,))

    async def set_topic(self, ticket_id: int, topic_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE tickets SET topic_id = ? WHERE id = ?", (topic_id, ticket_id))
            await _audit(tx, "system", "support", "ticket_topic", subject(ticket_id), str(topic_id))

    async def topic_lost(self, ticket_id: int, topic_id: int) -> None:
        """The topic was deleted in the group: the next post makes a new one."""
        async with self._db.transaction() as tx:
            done = await tx.execute("UPDATE tickets SET topic_id = NULL WHERE id = ? AND topic_id = ?",
                                    (ticket_id, topic_id))
            if done:
                await _audit(tx, "system", "support", "ticket_topic_lost", subject(ticket_id), str(topic_id))

    async def was_posted(self, ticket_id: int) -> bool:
        """Something of this ticket was posted before (a new topic for it is a re-creation)."""
        row = await self._db.fetchone(
            "SELECT EXISTS (SELECT 1 FROM ticket_messages WHERE ticket_id = ? AND state = 'posted') AS yes",
            (ticket_id,),
        )
        return bool(row and row["yes"])

    async def posted(self, message_id: int, platform_id: str | None) -> None:
        await self._db.execute(
            "UPDATE ticket_messages SET state = 'posted', platform_id = ?, error = NULL WHERE id = ?",
            (platform_id, message_id),
        )

    async def failed(self, message_id: int, error: str) -> None:
        await self._db.execute(
            "UPDATE ticket_messages SET state = 'failed', error = ? WHERE id = ?", (error, message_id)
        )

    # --- figures ----------------------------------------------------------------------------------------------
    async def summary(self, since: datetime, limit: int) -> TicketSummary:
        """Open tickets (oldest first, `limit` of them), waiting ones, what waits for the group, per-staff load
        (tickets closed since `since`), and whether the bot is out of the support group."""
        counts = await self._db.fetchone(
            "SELECT count(*) AS open, count(waiting_since) AS waiting, min(waiting_since) AS oldest_wait,"
            " (SELECT count(*) FROM ticket_messages WHERE state = 'queued') AS queued"
            " FROM tickets WHERE state = 'open'"
        )
        oldest = await self._db.fetchall(
            "SELECT * FROM tickets WHERE state = 'open' ORDER BY opened_at, id LIMIT ?", (limit,)
        )
        start = to_db_time(since)
        staff = await self._db.fetchall(
            "SELECT assignee, coalesce(sum(state = 'open'), 0) AS open, coalesce(sum(state = 'closed'), 0) AS closed,"
            " avg(CASE WHEN state = 'closed' THEN rating END) AS rating,"
            " count(CASE WHEN state = 'closed' THEN rating END) AS ratings"
            " FROM tickets WHERE assignee IS NOT NULL AND (state = 'open' OR closed_at >= ?)"
            " GROUP BY assignee ORDER BY assignee",
            (start,),
        )
        desk = await self._db.fetchone(
            f"SELECT action, at FROM audit_log WHERE action IN {DESK_ACTIONS} ORDER BY id DESC LIMIT 1"
        )
        assert counts is not None
        return TicketSummary(
            open=counts["open"], waiting=counts["waiting"], oldest=tuple(_ticket(r) for r in oldest),
            oldest_wait=from_db_time(counts["oldest_wait"]), queued_posts=counts["queued"],
            staff=tuple(StaffLoad(r["assignee"], r["open"], r["closed"], r["rating"], r["ratings"]) for r in staff),
            desk_removed_at=from_db_time(desk["at"]) if desk and desk["action"] == "desk_removed" else None,
        )
