"""The outbox on PostgreSQL: broadcasts and their deliveries, shared by several sender processes.

Mirrors storage/sqlite/outbox.py (same methods, same meaning). What differs is what several processes need:
- `claim` takes ready deliveries with `FOR UPDATE SKIP LOCKED`: two senders claiming at once get disjoint rows,
  each delivery is claimed by exactly one, and neither waits for the other. A chat that has a delivery in flight
  or sent in the last second (its per-chat spacing) is not claimed by another sender meanwhile.
- `expand_step` locks the broadcast's row while it expands a chunk, so two senders' housekeeping never expand the
  same chunk twice (the unique keys would make it harmless anyway, but the `queued` count would be wrong).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from storage.models import (
    Audience,
    AudienceCount,
    Broadcast,
    BroadcastKind,
    BroadcastState,
    BroadcastStats,
    Claim,
    DeliveryState,
    DeliveryView,
    GuideGap,
    WaveResult,
)
from storage.postgres.database import Database
from storage.postgres.repositories import ACCOUNT_COLUMNS, account_row, audit, chat_row
from storage.sqlite.database import now_utc
from storage.sqlite.outbox import (
    CANCEL_CHUNK,
    EXPAND_CHUNK,
    PRIORITY,
    STAGE_DONE,
    STAGE_LINKED,
    STAGE_UNLINKED,
    audience_from_json,
    audience_json,
    claim_of,
)

PER_CHAT_SPACING = timedelta(seconds=1)  # across senders: a chat is not claimed again within this of a send


class Params:
    """Collects query parameters and hands out their `$n` placeholders."""

    def __init__(self, *initial: object) -> None:
        self.values: list[object] = list(initial)

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _broadcast(r: asyncpg.Record) -> Broadcast:
    return Broadcast(
        id=r["id"],
        kind=BroadcastKind(r["kind"]),
        state=BroadcastState(r["state"]),
        wave=r["wave"],
        body=r["body"],
        photo=r["photo"],
        video_url=r["video_url"],
        audience=audience_from_json(r["audience"]),
        scheduled_at=r["scheduled_at"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        expanded=r["expand_stage"] >= STAGE_DONE,
        queued=r["queued"],
        throttled=r["throttled"],
    )


def _linked_filter(kind: BroadcastKind, audience: Audience, wave: int | None, p: Params) -> str:
    """WHERE terms (over `chats ch`) for linked chats of the audience; opted-out and blocked chats excluded."""
    terms = ["NOT ch.blocked", "NOT ch.opted_out"]
    if kind is BroadcastKind.RESULTS:
        terms.append(f"EXISTS (SELECT 1 FROM wave_results r WHERE r.account_id = ch.account_id AND r.wave = {p(wave)}"
                     " AND r.result IS NOT NULL)")
        return " AND ".join(terms)
    if audience.channel:
        terms.append(f"ch.channel = {p(audience.channel)}")
    if audience.gap:
        terms.append(f"ch.{GuideGap(audience.gap).value} IS NULL")  # an enum value, never user input
    if audience.wave is not None or audience.result is not None:
        sub = ["r.account_id = ch.account_id"]
        if audience.wave is not None:
            sub.append(f"r.wave = {p(audience.wave)}")
        if audience.result is not None:
            # A result is only a filter once its wave is published: a broadcast must not leak it earlier.
            sub.append(f"r.result = {p(audience.result.value)} AND EXISTS (SELECT 1 FROM waves w"
                       " WHERE w.number = r.wave AND w.published_at IS NOT NULL)")
        terms.append(f"EXISTS (SELECT 1 FROM wave_results r WHERE {' AND '.join(sub)})")
    return " AND ".join(terms)


def _unlinked_filter(audience: Audience, p: Params) -> str | None:
    if not audience.unlinked or audience.needs_account:
        return None
    terms = ["ch.account_id IS NULL", "NOT ch.blocked", "NOT ch.opted_out"]
    if audience.channel:
        terms.append(f"ch.channel = {p(audience.channel)}")
    return " AND ".join(terms)


def _id_range(column: str, lower: int, upper: int | None, p: Params) -> str:
    """`column > lower` and, unless this is the last chunk, `column <= upper`: a plain index range either way."""
    low = f"{column} > {p(lower)}"
    return low if upper is None else f"{low} AND {column} <= {p(upper)}"


# Records deliveries sent: $1 the time, $2 their ids, $3 their message ids.
MARK_SENT = ("UPDATE deliveries d SET state = 'sent', sent_at = $1, message_id = s.message_id,"
             " attempts = d.attempts + 1, error = NULL"
             " FROM unnest($2::bigint[], $3::text[]) AS s(id, message_id) WHERE d.id = s.id")


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- broadcasts ---------------------------------------------------------------------------------------
    async def create(
        self,
        kind: BroadcastKind,
        created_by: str,
        *,
        body: str | None = None,
        audience: Audience | None = None,
        state: BroadcastState = BroadcastState.DRAFT,
    ) -> Broadcast:
        row = await self._db.fetchone(
            "INSERT INTO broadcasts (kind, priority, body, audience, state, created_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            (kind.value, PRIORITY[kind], body, audience_json(audience or Audience()), state.value, created_by,
             now_utc()),
        )
        assert row is not None
        return _broadcast(row)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE id = $1", (broadcast_id,))
        return _broadcast(row) if row else None

    async def results_broadcast(self, wave: int) -> Broadcast | None:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE dedupe_key = $1", (f"results:{wave}",))
        return _broadcast(row) if row else None

    async def edit_draft(
        self,
        broadcast_id: int,
        *,
        body: str | None = None,
        photo: str | None = None,
        video_url: str | None = None,
        audience: Audience | None = None,
        clear_photo: bool = False,
        clear_video: bool = False,
    ) -> Broadcast | None:
        """Change a draft; None if it is no longer a draft (sent, cancelled) or does not exist."""
        row = await self._db.fetchone(
            "UPDATE broadcasts SET body = coalesce($1, body),"
            " photo = CASE WHEN $2 THEN NULL ELSE coalesce($3, photo) END,"
            " video_url = CASE WHEN $4 THEN NULL ELSE coalesce($5, video_url) END,"
            " audience = coalesce($6, audience)"
            " WHERE id = $7 AND state = 'draft' RETURNING *",
            (body, clear_photo, photo, clear_video, video_url,
             audience_json(audience) if audience is not None else None, broadcast_id),
        )
        return _broadcast(row) if row else None

    async def start(self, broadcast_id: int, at: datetime | None = None) -> Broadcast | None:
        """Confirm a draft: running now, or scheduled for `at`. None if it was not a draft (pressed twice)."""
        if at is None:
            row = await self._db.fetchone(
                "UPDATE broadcasts SET state = 'running', started_at = $1 WHERE id = $2 AND state = 'draft'"
                " RETURNING *",
                (now_utc(), broadcast_id),
            )
        else:
            row = await self._db.fetchone(
                "UPDATE broadcasts SET state = 'scheduled', scheduled_at = $1 WHERE id = $2 AND state = 'draft'"
                " RETURNING *",
                (at, broadcast_id),
            )
        return _broadcast(row) if row else None

    async def set_state(
        self, broadcast_id: int, new: BroadcastState, allowed_from: Sequence[BroadcastState]
    ) -> Broadcast | None:
        """Pause, resume or cancel; None if the broadcast was not in one of `allowed_from`."""
        finished = now_utc() if new in (BroadcastState.CANCELLED, BroadcastState.DONE) else None
        row = await self._db.fetchone(
            "UPDATE broadcasts SET state = $1, finished_at = coalesce($2, finished_at)"
            " WHERE id = $3 AND state = ANY($4::text[]) RETURNING *",
            (new.value, finished, broadcast_id, [s.value for s in allowed_from]),
        )
        return _broadcast(row) if row else None

    async def publish_results(self, wave: int, actor: str, role: str) -> tuple[Broadcast, bool]:
        """Publish the wave and queue its results broadcast; (broadcast, True if the wave was newly published).

        Publishing again re-runs the expansion of the same broadcast: the unique keys make it add only people
        who had no message yet (e.g. linked since), so nothing is sent twice.
        """
        now = now_utc()
        key = f"results:{wave}"
        async with self._db.transaction() as tx:
            published = await tx.execute(
                "UPDATE waves SET published_at = $1 WHERE number = $2 AND published_at IS NULL", (now, wave)
            )
            row = await tx.fetchone(
                "INSERT INTO broadcasts (kind, priority, dedupe_key, wave, state, created_by, created_at, started_at)"
                " VALUES ('results', $1, $2, $3, 'running', $4, $5, $5)"
                " ON CONFLICT (dedupe_key) DO UPDATE SET state = 'running', expand_stage = 0, expand_cursor = 0,"
                " finished_at = NULL RETURNING *",
                (PRIORITY[BroadcastKind.RESULTS], key, wave, actor, now),
            )
            assert row is not None
            await audit(tx, actor, role, "publish", f"wave:{wave}", f"broadcast:{row['id']}")
        return _broadcast(row), published > 0

    async def notice(self, chat_id: int, body: str, created_by: str, account_id: int | None = None) -> int:
        """Queue one personal message to a chat (sent even if it opted out of announcements); `account_id` files
        it under that account for support's look-up (e.g. the chat was just unlinked from it)."""
        now = now_utc()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (kind, priority, body, state, created_by, created_at, started_at,"
                " expand_stage, queued) VALUES ('notice', $1, $2, 'running', $3, $4, $4, $5, 1) RETURNING id",
                (PRIORITY[BroadcastKind.NOTICE], body, created_by, now, STAGE_DONE),
            )
            assert row is not None
            await tx.execute(
                "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                " SELECT $1, id, coalesce($2, -id), channel, $3 FROM chats WHERE id = $4",
                (row["id"], account_id, now, chat_id),
            )
        return int(row["id"])

    # --- audience -----------------------------------------------------------------------------------------
    async def count_audience(self, audience: Audience) -> AudienceCount:
        """How many people a broadcast to `audience` reaches right now (one per person)."""
        p = Params()
        where = _linked_filter(BroadcastKind.BROADCAST, audience, None, p)
        total = await self._db.fetchval(
            f"SELECT count(DISTINCT ch.account_id) FROM chats ch WHERE ch.account_id IS NOT NULL AND {where}",
            p.values,
        ) or 0
        p = Params()
        unlinked = _unlinked_filter(audience, p)
        if unlinked is not None:
            total += await self._db.fetchval(f"SELECT count(*) FROM chats ch WHERE {unlinked}", p.values) or 0
        return AudienceCount(int(total))

    async def count_results_audience(self, wave: int) -> AudienceCount:
        """People a publish of `wave` would message now: linked, not opted out or blocked, with a result, and
        not already sent (or queued) this wave's results."""
        existing = await self.results_broadcast(wave)
        p = Params(wave)
        where = _linked_filter(BroadcastKind.RESULTS, Audience(), wave, p)
        rows = await self._db.fetchall(
            "SELECT r.result, count(DISTINCT ch.account_id) AS n FROM chats ch"
            " JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = $1"
            f" WHERE ch.account_id IS NOT NULL AND {where}"
            f" AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = {p(existing.id if existing else -1)}"
            " AND d.person = ch.account_id) GROUP BY r.result",
            p.values,
        )
        counts = {r["result"]: r["n"] for r in rows}
        lolos, tidak = counts.get(WaveResult.LOLOS.value, 0), counts.get(WaveResult.TIDAK_LOLOS.value, 0)
        return AudienceCount(lolos + tidak, lolos, tidak)

    async def expand_step(self, broadcast_id: int, chunk: int = EXPAND_CHUNK) -> bool:
        """Queue the deliveries of the next chunk of the audience; True when the expansion is complete."""
        now = now_utc()
        async with self._db.transaction() as tx:
            # The row lock makes a second sender's housekeeping wait, then continue from the new cursor.
            row = await tx.fetchone("SELECT * FROM broadcasts WHERE id = $1 FOR UPDATE", (broadcast_id,))
            if row is None or row["expand_stage"] >= STAGE_DONE or row["state"] == BroadcastState.CANCELLED:
                return True
            kind, audience = BroadcastKind(row["kind"]), audience_from_json(row["audience"])
            stage, cursor = row["expand_stage"], row["expand_cursor"]
            if stage == STAGE_LINKED:
                upper = await tx.connection.fetchval(
                    "SELECT account_id FROM chats WHERE account_id > $1 ORDER BY account_id LIMIT 1 OFFSET $2",
                    cursor, chunk - 1,
                )
                p = Params(broadcast_id, now)
                where = _linked_filter(kind, audience, row["wave"], p)
                # The person's most recently seen eligible chat gets the message.
                added = await tx.execute(
                    "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                    " SELECT $1, id, account_id, channel, $2 FROM ("
                    "  SELECT DISTINCT ON (ch.account_id) ch.id, ch.account_id, ch.channel FROM chats ch"
                    f"  WHERE {_id_range('ch.account_id', cursor, upper, p)} AND {where}"
                    "  ORDER BY ch.account_id, ch.last_seen DESC, ch.id"
                    " ) AS pick ON CONFLICT DO NOTHING",
                    p.values,
                )
                stage, cursor = (STAGE_UNLINKED, 0) if upper is None else (stage, upper)
            else:
                p = Params(broadcast_id, now)
                unlinked = _unlinked_filter(audience, p) if kind is BroadcastKind.BROADCAST else None
                added = 0
                if unlinked is None:
                    stage = STAGE_DONE
                else:
                    upper = await tx.connection.fetchval(
                        "SELECT id FROM chats WHERE id > $1 AND account_id IS NULL ORDER BY id LIMIT 1 OFFSET $2",
                        cursor, chunk - 1,
                    )
                    added = await tx.execute(
                        "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                        " SELECT $1, ch.id, -ch.id, ch.channel, $2 FROM chats ch"
                        f" WHERE {_id_range('ch.id', cursor, upper, p)} AND {unlinked} ON CONFLICT DO NOTHING",
                        p.values,
                    )
                    stage, cursor = (STAGE_DONE, 0) if upper is None else (STAGE_UNLINKED, upper)
            await tx.execute(
                "UPDATE broadcasts SET expand_stage = $1, expand_cursor = $2, queued = queued + $3 WHERE id = $4",
                (stage, cursor, max(added, 0), broadcast_id),
            )
        return stage >= STAGE_DONE

    # --- the sender's side --------------------------------------------------------------------------------
    async def start_due(self, now: datetime) -> list[int]:
        """Scheduled broadcasts whose time has come start running; their ids."""
        rows = await self._db.fetchall(
            "UPDATE broadcasts SET state = 'running', started_at = $1 WHERE state = 'scheduled' AND scheduled_at <= $1"
            " RETURNING id",
            (now,),
        )
        return [r["id"] for r in rows]

    async def expanding(self) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT id FROM broadcasts WHERE state IN ('running', 'paused') AND expand_stage < $1"
            " ORDER BY priority, id",
            (STAGE_DONE,),
        )
        return [r["id"] for r in rows]

    async def claim(self, channel: str, limit: int, now: datetime,
                    sent: Sequence[tuple[int, str | None]] = ()) -> list[Claim]:
        """Record `sent` (deliveries sent: id, message id) and take up to `limit` ready deliveries of running
        broadcasts on `channel`, highest priority first, in one transaction.

        `FOR UPDATE SKIP LOCKED`: rows another sender is claiming right now are skipped, not waited for, so each
        delivery goes to exactly one sender and senders never queue behind each other.
        """
        claims: list[Claim] = []
        async with self._db.transaction() as tx:
            if sent:
                await tx.execute(MARK_SENT, (now, [i for i, _ in sent], [m for _, m in sent]))
            if limit <= 0:
                return claims
            running = await tx.fetchall(
                "SELECT id, kind, wave FROM broadcasts WHERE state = 'running' ORDER BY priority, id"
            )
            for b in running:
                if len(claims) >= limit:
                    break
                taken = await tx.fetchall(
                    "UPDATE deliveries d SET state = 'sending', claimed_at = $1 FROM ("
                    " SELECT id FROM deliveries p WHERE broadcast_id = $2 AND channel = $3 AND state = 'pending'"
                    " AND next_attempt_at <= $1 AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.chat_id = p.chat_id"
                    "  AND o.id <> p.id AND (o.state = 'sending' OR o.sent_at > $5))"
                    " ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) AS pick WHERE d.id = pick.id"
                    " RETURNING d.id, d.chat_id, d.person, d.attempts, d.ambiguous",
                    (now, b["id"], channel, limit - len(claims), now - PER_CHAT_SPACING),
                )
                if not taken:
                    continue
                by_chat = {r["chat_id"]: r for r in taken}
                details = await tx.fetchall(
                    f"SELECT ch.*, {ACCOUNT_COLUMNS}, r.result AS r_result"
                    " FROM chats ch LEFT JOIN accounts a ON a.id = ch.account_id"
                    " LEFT JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = $1"
                    " WHERE ch.id = ANY($2::bigint[])",
                    (b["wave"], list(by_chat)),
                )
                for d in details:
                    claims.append(claim_of(by_chat[d["id"]], d, b["id"], chat_row(d), account_row(d, "a_")))
        return claims

    async def release(self, delivery_id: int, at: datetime) -> None:
        """Put a claimed delivery back, untried (e.g. its chat got a message less than a second ago)."""
        await self._db.execute(
            "UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = $1"
            " WHERE id = $2 AND state = 'sending'",
            (at, delivery_id),
        )

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        await self.mark_sent_many([(delivery_id, message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record deliveries sent, (id, message id) each, in one statement."""
        if sent:
            await self._db.execute(MARK_SENT, (now, [i for i, _ in sent], [m for _, m in sent]))

    async def mark_retry(
        self, delivery_id: int, at: datetime, error: str, *, attempt: bool, throttled: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        """Back to pending until `at`. A 429 (`throttled` = the broadcast id) counts on the broadcast, not as an
        attempt; a transient error counts as one (`ambiguous`: a timeout, the message may have arrived)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = $1, error = $2,"
                " attempts = attempts + $3, ambiguous = ambiguous OR $4 WHERE id = $5",
                (at, error[:200], int(attempt), ambiguous, delivery_id),
            )
            if throttled is not None:
                await tx.execute("UPDATE broadcasts SET throttled = throttled + 1 WHERE id = $1", (throttled,))

    async def mark_failed(self, delivery_id: int, error: str, state: DeliveryState = DeliveryState.FAILED) -> None:
        await self._db.execute(
            "UPDATE deliveries SET state = $1, error = $2, attempts = attempts + 1 WHERE id = $3",
            (state.value, error[:200], delivery_id),
        )

    async def skip(self, delivery_id: int, state: DeliveryState, reason: str) -> None:
        """Not sent, not tried: the chat opted out or was blocked after the broadcast was queued."""
        await self._db.execute(
            "UPDATE deliveries SET state = $1, error = $2, claimed_at = NULL WHERE id = $3",
            (state.value, reason, delivery_id),
        )

    async def mark_blocked(self, delivery_id: int, chat_id: int, error: str) -> None:
        """The user blocked the bot: the chat is marked and nothing else queued for it is sent."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'blocked', error = $1, attempts = attempts + 1 WHERE id = $2",
                (error[:200], delivery_id),
            )
            await tx.execute("UPDATE chats SET blocked = true WHERE id = $1", (chat_id,))
            await tx.execute(
                "UPDATE deliveries SET state = 'blocked', error = 'blocked' WHERE chat_id = $1 AND state = 'pending'",
                (chat_id,),
            )

    async def recover_stale(self, older_than: datetime) -> int:
        """Deliveries left 'sending' by a sender that died: back to pending, flagged ambiguous (sent again).

        Only a sender's in-flight messages can be in this state, so their number is bounded by its concurrency.
        """
        return await self._db.execute(
            "UPDATE deliveries SET state = 'pending', ambiguous = true, claimed_at = NULL"
            " WHERE state = 'sending' AND claimed_at < $1",
            (older_than,),
        )

    async def cancel_pending(self) -> int:
        """Mark a chunk of the pending deliveries of cancelled broadcasts cancelled; how many."""
        return await self._db.execute(
            "UPDATE deliveries SET state = 'cancelled' WHERE id IN (SELECT d.id FROM broadcasts b"
            " JOIN deliveries d ON d.broadcast_id = b.id AND d.state = 'pending' WHERE b.state = 'cancelled'"
            " LIMIT $1 FOR UPDATE OF d SKIP LOCKED)",
            (CANCEL_CHUNK,),
        )

    async def finish(self, now: datetime) -> list[int]:
        """Running broadcasts fully expanded with nothing left to send are done; their ids."""
        rows = await self._db.fetchall(
            "UPDATE broadcasts SET state = 'done', finished_at = $1 WHERE state = 'running' AND expand_stage >= $2"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = broadcasts.id"
            " AND d.state IN ('pending', 'sending')) RETURNING id",
            (now, STAGE_DONE),
        )
        return [r["id"] for r in rows]

    async def has_work(self, channel: str, now: datetime) -> datetime | None:
        """The earliest time a delivery on `channel` becomes ready (None: nothing queued), for idle sleeps."""
        return await self._db.fetchval(
            "SELECT min(d.next_attempt_at) FROM broadcasts b JOIN deliveries d ON d.broadcast_id = b.id"
            " AND d.channel = $1 AND d.state = 'pending' WHERE b.state = 'running'",
            (channel,),
        )

    # --- progress -----------------------------------------------------------------------------------------
    async def stats(self, broadcast: Broadcast, now: datetime) -> BroadcastStats:
        rows = await self._db.fetchall(
            "SELECT state, count(*) AS n, count(*) FILTER (WHERE sent_at >= $1) AS recent FROM deliveries"
            " WHERE broadcast_id = $2 GROUP BY state",
            (now - timedelta(minutes=1), broadcast.id),
        )
        counts = {r["state"]: r["n"] for r in rows}
        recent = sum(r["recent"] or 0 for r in rows if r["state"] == DeliveryState.SENT)
        pending = counts.get(DeliveryState.PENDING.value, 0)
        cancelled = counts.get(DeliveryState.CANCELLED.value, 0)
        if broadcast.state is BroadcastState.CANCELLED:
            pending, cancelled = 0, cancelled + pending
        return BroadcastStats(
            broadcast=broadcast,
            pending=pending,
            sending=counts.get(DeliveryState.SENDING.value, 0),
            sent=counts.get(DeliveryState.SENT.value, 0),
            failed=counts.get(DeliveryState.FAILED.value, 0),
            blocked=counts.get(DeliveryState.BLOCKED.value, 0),
            cancelled=cancelled,
            sent_last_minute=recent,
        )

    async def recent(self, limit: int, since: datetime) -> list[Broadcast]:
        """Results and broadcasts that are scheduled, running or paused, or finished after `since`."""
        rows = await self._db.fetchall(
            "SELECT * FROM broadcasts WHERE kind <> 'notice' AND (state IN ('scheduled', 'running', 'paused')"
            " OR (state IN ('done', 'cancelled') AND coalesce(finished_at, created_at) >= $1))"
            " ORDER BY id DESC LIMIT $2",
            (since, limit),
        )
        return [_broadcast(r) for r in rows]

    async def for_chats(self, chat_ids: Sequence[int], limit: int, account_id: int | None = None) -> list[DeliveryView]:
        """The last messages queued for these chats (or for the account, on any chat), newest first."""
        rows = await self._db.fetchall(
            "SELECT d.*, b.kind, b.wave, b.body, b.state AS b_state FROM deliveries d"
            " JOIN broadcasts b ON b.id = d.broadcast_id WHERE d.chat_id = ANY($1::bigint[]) OR d.person = $2"
            " ORDER BY d.id DESC LIMIT $3",
            (list(chat_ids), account_id if account_id is not None else 0, limit),
        )
        views = []
        for r in rows:
            state = DeliveryState(r["state"])
            if state is DeliveryState.PENDING and r["b_state"] == BroadcastState.CANCELLED:
                state = DeliveryState.CANCELLED
            views.append(DeliveryView(
                id=r["id"], kind=BroadcastKind(r["kind"]), broadcast_id=r["broadcast_id"], wave=r["wave"],
                body=r["body"], state=state, attempts=r["attempts"], sent_at=r["sent_at"],
                next_attempt_at=r["next_attempt_at"], error=r["error"],
            ))
        return views
