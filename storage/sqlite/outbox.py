"""The outbox: broadcasts and their deliveries (one row per message per recipient), on SQLite.

Nothing here holds an audience in memory. Expansion (`expand_step`) is `INSERT ... SELECT` over a chunk of
account ids (then of unlinked chat ids), resumable from a cursor stored with the broadcast; a sender claims a
few ready deliveries at a time (`claim`: `UPDATE ... RETURNING`) and records each outcome right after the send.
The unique keys of `deliveries` (one per person and one per chat per broadcast) make a repeated publish or a
person linked on two channels harmless: the second insert does nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.models import (
    Account,
    Audience,
    AudienceCount,
    Broadcast,
    BroadcastKind,
    BroadcastState,
    BroadcastStats,
    Chat,
    Claim,
    DeliveryState,
    DeliveryView,
    GuideGap,
    WaveResult,
)
from storage.sqlite.database import Database, from_db_time, now_utc, to_db_time
from storage.sqlite.repositories import _ACCOUNT_COLUMNS, _account, _audit, _chat

PRIORITY = {BroadcastKind.NOTICE: 0, BroadcastKind.RESULTS: 1, BroadcastKind.BROADCAST: 2}
EXPAND_CHUNK = 1000  # accounts (or unlinked chats) per expansion transaction: a few milliseconds each
CANCEL_CHUNK = 5000
STAGE_LINKED, STAGE_UNLINKED, STAGE_DONE = 0, 1, 2
ACTIVE = (BroadcastState.SCHEDULED, BroadcastState.RUNNING, BroadcastState.PAUSED)


def audience_json(audience: Audience) -> str:
    data = {"unlinked": audience.unlinked, "wave": audience.wave, "channel": audience.channel,
            "result": audience.result.value if audience.result else None,
            "gap": audience.gap.value if audience.gap else None}
    return json.dumps({k: v for k, v in data.items() if v not in (None, False)}, sort_keys=True)


def audience_from_json(text: str) -> Audience:
    data = json.loads(text or "{}")
    return Audience(
        unlinked=bool(data.get("unlinked")),
        wave=data.get("wave"),
        result=WaveResult(data["result"]) if data.get("result") else None,
        channel=data.get("channel"),
        gap=GuideGap(data["gap"]) if data.get("gap") else None,
    )


def _broadcast(r: sqlite3.Row) -> Broadcast:
    return Broadcast(
        id=r["id"],
        kind=BroadcastKind(r["kind"]),
        state=BroadcastState(r["state"]),
        wave=r["wave"],
        body=r["body"],
        photo=r["photo"],
        video_url=r["video_url"],
        audience=audience_from_json(r["audience"]),
        scheduled_at=from_db_time(r["scheduled_at"]),
        created_by=r["created_by"],
        created_at=from_db_time(r["created_at"]),  # type: ignore[arg-type]
        started_at=from_db_time(r["started_at"]),
        finished_at=from_db_time(r["finished_at"]),
        expanded=r["expand_stage"] >= STAGE_DONE,
        queued=r["queued"],
        throttled=r["throttled"],
    )


def _linked_filter(kind: BroadcastKind, audience: Audience, wave: int | None) -> tuple[str, list[object]]:
    """WHERE terms (over `chats ch`) for linked chats of the audience; opted-out and blocked chats excluded."""
    terms = ["ch.blocked = 0", "ch.opted_out = 0"]
    params: list[object] = []
    if kind is BroadcastKind.RESULTS:
        terms.append("EXISTS (SELECT 1 FROM wave_results r WHERE r.account_id = ch.account_id AND r.wave = ?"
                     " AND r.result IS NOT NULL)")
        params.append(wave)
        return " AND ".join(terms), params
    if audience.channel:
        terms.append("ch.channel = ?")
        params.append(audience.channel)
    if audience.gap:
        terms.append(f"ch.{GuideGap(audience.gap).value} IS NULL")  # an enum value, never user input
    if audience.wave is not None or audience.result is not None:
        sub = ["r.account_id = ch.account_id"]
        if audience.wave is not None:
            sub.append("r.wave = ?")
            params.append(audience.wave)
        if audience.result is not None:
            # A result is only a filter once its wave is published: a broadcast must not leak it earlier.
            sub.append("r.result = ? AND EXISTS (SELECT 1 FROM waves w WHERE w.number = r.wave"
                       " AND w.published_at IS NOT NULL)")
            params.append(audience.result.value)
        terms.append(f"EXISTS (SELECT 1 FROM wave_results r WHERE {' AND '.join(sub)})")
    return " AND ".join(terms), params


def _unlinked_filter(audience: Audience) -> tuple[str, list[object]] | None:
    if not audience.unlinked or audience.needs_account:
        return None
    terms = ["ch.account_id IS NULL", "ch.blocked = 0", "ch.opted_out = 0"]
    params: list[object] = []
    if audience.channel:
        terms.append("ch.channel = ?")
        params.append(audience.channel)
    return " AND ".join(terms), params


def _id_range(column: str, upper: int | None) -> str:
    """`column > ?` and, unless this is the last chunk, `column <= ?`: a plain index range either way."""
    return f"{column} > ?" if upper is None else f"{column} > ? AND {column} <= ?"


def _upper(upper: int | None) -> tuple[int, ...]:
    return () if upper is None else (upper,)


def _mark_sent(sent: Sequence[tuple[int, str | None]], stamp: str | None) -> tuple[str, tuple[object, ...]]:
    """The statement that records `sent` (id, message id) as sent at `stamp`, and its parameters."""
    values = ",".join("(?, ?)" for _ in sent)
    return (f"WITH s(id, message_id) AS (VALUES {values})"
            " UPDATE deliveries SET state = 'sent', sent_at = ?, message_id = s.message_id, attempts = attempts + 1,"
            " error = NULL FROM s WHERE deliveries.id = s.id",
            (*(x for pair in sent for x in pair), stamp))


def _claim(connection: sqlite3.Connection, channel: str, limit: int, stamp: str,
           sent: Sequence[tuple[int, str | None]]) -> list[Claim]:
    """`OutboxRepository.claim` on the database thread, inside its transaction."""
    if sent:
        connection.execute(*_mark_sent(sent, stamp))
    claims: list[Claim] = []
    if limit <= 0:
        return claims
    running = connection.execute(
        "SELECT id, kind, wave FROM broadcasts WHERE state = 'running' ORDER BY priority, id"
    ).fetchall()
    for b in running:
        if len(claims) >= limit:
            break
        taken = connection.execute(
            "UPDATE deliveries SET state = 'sending', claimed_at = ? WHERE id IN ("
            " SELECT id FROM deliveries WHERE broadcast_id = ? AND channel = ? AND state = 'pending'"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?)"
            " RETURNING id, chat_id, person, attempts, ambiguous",
            (stamp, b["id"], channel, stamp, limit - len(claims)),
        ).fetchall()
        if not taken:
            continue
        by_chat = {r["chat_id"]: r for r in taken}
        marks = ",".join("?" * len(by_chat))
        details = connection.execute(
            f"SELECT ch.*, {_ACCOUNT_COLUMNS}, r.result AS r_result"
            f" FROM chats ch LEFT JOIN accounts a ON a.id = ch.account_id"
            f" LEFT JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = ?"
            f" WHERE ch.id IN ({marks})",
            (b["wave"], *by_chat),
        ).fetchall()
        for d in details:
            claims.append(claim_of(by_chat[d["id"]], d, b["id"], _chat(d), _account(d, "a_")))
    return claims


def claim_of(claimed: Any, detail: Any, broadcast_id: int, chat: Chat, account: Account) -> Claim:
    """A claimed delivery with what its message needs (both backends: the rows differ only in their types)."""
    return Claim(
        id=claimed["id"],
        broadcast_id=broadcast_id,
        person=claimed["person"],
        chat=chat,
        account=account if detail["a_id"] is not None else None,
        result=WaveResult(detail["r_result"]) if detail["r_result"] else None,
        attempts=claimed["attempts"],
        ambiguous=bool(claimed["ambiguous"]),
    )


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
        rows = await self._db.fetchall(
            "INSERT INTO broadcasts (kind, priority, body, audience, state, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (kind.value, PRIORITY[kind], body, audience_json(audience or Audience()), state.value, created_by,
             to_db_time(now_utc())),
        )
        return _broadcast(rows[0])

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(row) if row else None

    async def results_broadcast(self, wave: int) -> Broadcast | None:
        row = await self._db.fetchone("SELECT * FROM broadcasts WHERE dedupe_key = ?", (f"results:{wave}",))
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
        rows = await self._db.fetchall(
            "UPDATE broadcasts SET body = coalesce(?, body),"
            " photo = CASE WHEN ? THEN NULL ELSE coalesce(?, photo) END,"
            " video_url = CASE WHEN ? THEN NULL ELSE coalesce(?, video_url) END,"
            " audience = coalesce(?, audience)"
            " WHERE id = ? AND state = 'draft' RETURNING *",
            (body, int(clear_photo), photo, int(clear_video), video_url,
             audience_json(audience) if audience is not None else None, broadcast_id),
        )
        return _broadcast(rows[0]) if rows else None

    async def start(self, broadcast_id: int, at: datetime | None = None) -> Broadcast | None:
        """Confirm a draft: running now, or scheduled for `at`. None if it was not a draft (pressed twice)."""
        now = to_db_time(now_utc())
        if at is None:
            rows = await self._db.fetchall(
                "UPDATE broadcasts SET state = 'running', started_at = ? WHERE id = ? AND state = 'draft'"
                " RETURNING *",
                (now, broadcast_id),
            )
        else:
            rows = await self._db.fetchall(
                "UPDATE broadcasts SET state = 'scheduled', scheduled_at = ? WHERE id = ? AND state = 'draft'"
                " RETURNING *",
                (to_db_time(at), broadcast_id),
            )
        return _broadcast(rows[0]) if rows else None

    async def set_state(
        self, broadcast_id: int, new: BroadcastState, allowed_from: Sequence[BroadcastState]
    ) -> Broadcast | None:
        """Pause, resume or cancel; None if the broadcast was not in one of `allowed_from`."""
        marks = ",".join("?" * len(allowed_from))
        finished = to_db_time(now_utc()) if new in (BroadcastState.CANCELLED, BroadcastState.DONE) else None
        rows = await self._db.fetchall(
            f"UPDATE broadcasts SET state = ?, finished_at = coalesce(?, finished_at)"
            f" WHERE id = ? AND state IN ({marks}) RETURNING *",
            (new.value, finished, broadcast_id, *(s.value for s in allowed_from)),
        )
        return _broadcast(rows[0]) if rows else None

    async def publish_results(self, wave: int, actor: str, role: str) -> tuple[Broadcast, bool]:
        """Publish the wave and queue its results broadcast; (broadcast, True if the wave was newly published).

        Publishing again re-runs the expansion of the same broadcast: the unique keys make it add only people
        who had no message yet (e.g. linked since), so nothing is sent twice.
        """
        now = to_db_time(now_utc())
        key = f"results:{wave}"
        async with self._db.transaction() as tx:
            published = await tx.execute(
                "UPDATE waves SET published_at = ? WHERE number = ? AND published_at IS NULL", (now, wave)
            )
            await tx.execute(
                "INSERT INTO broadcasts (kind, priority, dedupe_key, wave, state, created_by, created_at, started_at)"
                " VALUES ('results', ?, ?, ?, 'running', ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO UPDATE SET state = 'running', expand_stage = 0, expand_cursor = 0,"
                " finished_at = NULL",
                (PRIORITY[BroadcastKind.RESULTS], key, wave, actor, now, now),
            )
            row = await tx.fetchone("SELECT * FROM broadcasts WHERE dedupe_key = ?", (key,))
            assert row is not None
            await _audit(tx, actor, role, "publish", f"wave:{wave}", f"broadcast:{row['id']}")
        return _broadcast(row), published > 0

    async def notice(self, chat_id: int, body: str, created_by: str, account_id: int | None = None) -> int:
        """Queue one personal message to a chat (sent even if it opted out of announcements); `account_id` files
        it under that account for support's look-up (e.g. the chat was just unlinked from it)."""
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (kind, priority, body, state, created_by, created_at, started_at,"
                " expand_stage, queued) VALUES ('notice', ?, ?, 'running', ?, ?, ?, ?, 1) RETURNING id",
                (PRIORITY[BroadcastKind.NOTICE], body, created_by, now, now, STAGE_DONE),
            )
            assert row is not None
            await tx.execute(
                "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                " SELECT ?, id, coalesce(?, -id), channel, ? FROM chats WHERE id = ?",
                (row["id"], account_id, now, chat_id),
            )
        return int(row["id"])

    # --- audience -----------------------------------------------------------------------------------------
    async def count_audience(self, audience: Audience) -> AudienceCount:
        """How many people a broadcast to `audience` reaches right now (one per person)."""
        where, params = _linked_filter(BroadcastKind.BROADCAST, audience, None)
        row = await self._db.fetchone(
            f"SELECT count(DISTINCT ch.account_id) AS n FROM chats ch WHERE ch.account_id IS NOT NULL AND {where}",
            tuple(params),
        )
        total = row["n"] if row else 0
        unlinked = _unlinked_filter(audience)
        if unlinked is not None:
            where, params = unlinked
            row = await self._db.fetchone(f"SELECT count(*) AS n FROM chats ch WHERE {where}", tuple(params))
            total += row["n"] if row else 0
        return AudienceCount(total)

    async def count_results_audience(self, wave: int) -> AudienceCount:
        """People a publish of `wave` would message now: linked, not opted out or blocked, with a result, and
        not already sent (or queued) this wave's results."""
        existing = await self.results_broadcast(wave)
        where, params = _linked_filter(BroadcastKind.RESULTS, Audience(), wave)
        rows = await self._db.fetchall(
            "SELECT r.result, count(DISTINCT ch.account_id) AS n FROM chats ch"
            " JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = ?"
            f" WHERE ch.account_id IS NOT NULL AND {where}"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = ? AND d.person = ch.account_id)"
            " GROUP BY r.result",
            (wave, *params, existing.id if existing else -1),
        )
        counts = {r["result"]: r["n"] for r in rows}
        lolos, tidak = counts.get(WaveResult.LOLOS.value, 0), counts.get(WaveResult.TIDAK_LOLOS.value, 0)
        return AudienceCount(lolos + tidak, lolos, tidak)

    async def expand_step(self, broadcast_id: int, chunk: int = EXPAND_CHUNK) -> bool:
        """Queue the deliveries of the next chunk of the audience; True when the expansion is complete."""
        now = to_db_time(now_utc())
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
            if row is None or row["expand_stage"] >= STAGE_DONE or row["state"] == BroadcastState.CANCELLED:
                return True
            kind, audience = BroadcastKind(row["kind"]), audience_from_json(row["audience"])
            stage, cursor = row["expand_stage"], row["expand_cursor"]
            if stage == STAGE_LINKED:
                where, params = _linked_filter(kind, audience, row["wave"])
                bound = await tx.fetchone(
                    "SELECT account_id FROM chats WHERE account_id > ? ORDER BY account_id LIMIT 1 OFFSET ?",
                    (cursor, chunk - 1),
                )
                upper = bound["account_id"] if bound else None
                # The person's most recently seen eligible chat gets the message.
                added = await tx.execute(
                    "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                    " SELECT ?, id, account_id, channel, ? FROM ("
                    "  SELECT ch.id, ch.account_id, ch.channel, row_number() OVER ("
                    "   PARTITION BY ch.account_id ORDER BY ch.last_seen DESC, ch.id) AS rank"
                    f"  FROM chats ch WHERE {_id_range('ch.account_id', upper)} AND {where}"
                    " ) WHERE rank = 1 ON CONFLICT DO NOTHING",
                    (broadcast_id, now, cursor, *_upper(upper), *params),
                )
                if upper is None:
                    stage, cursor = STAGE_UNLINKED, 0
                else:
                    cursor = upper
            else:
                unlinked = _unlinked_filter(audience) if kind is BroadcastKind.BROADCAST else None
                added = 0
                if unlinked is None:
                    stage = STAGE_DONE
                else:
                    where, params = unlinked
                    bound = await tx.fetchone(
                        "SELECT id FROM chats WHERE id > ? AND account_id IS NULL ORDER BY id LIMIT 1 OFFSET ?",
                        (cursor, chunk - 1),
                    )
                    upper = bound["id"] if bound else None
                    added = await tx.execute(
                        "INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                        " SELECT ?, ch.id, -ch.id, ch.channel, ? FROM chats ch"
                        f" WHERE {_id_range('ch.id', upper)} AND {where} ON CONFLICT DO NOTHING",
                        (broadcast_id, now, cursor, *_upper(upper), *params),
                    )
                    stage, cursor = (STAGE_DONE, 0) if upper is None else (STAGE_UNLINKED, upper)
            await tx.execute(
                "UPDATE broadcasts SET expand_stage = ?, expand_cursor = ?, queued = queued + ? WHERE id = ?",
                (stage, cursor, max(added, 0), broadcast_id),
            )
        return stage >= STAGE_DONE

    # --- the sender's side --------------------------------------------------------------------------------
    async def start_due(self, now: datetime) -> list[int]:
        """Scheduled broadcasts whose time has come start running; their ids."""
        rows = await self._db.fetchall(
            "UPDATE broadcasts SET state = 'running', started_at = ? WHERE state = 'scheduled' AND scheduled_at <= ?"
            " RETURNING id",
            (to_db_time(now), to_db_time(now)),
        )
        return [r["id"] for r in rows]

    async def expanding(self) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT id FROM broadcasts WHERE state IN ('running', 'paused') AND expand_stage < ? ORDER BY priority, id",
            (STAGE_DONE,),
        )
        return [r["id"] for r in rows]

    async def claim(self, channel: str, limit: int, now: datetime,
                    sent: Sequence[tuple[int, str | None]] = ()) -> list[Claim]:
        """Record `sent` (deliveries sent: id, message id) and take up to `limit` ready deliveries of running
        broadcasts on `channel`, highest priority first.

        One transaction in one round trip (`Database.atomic`): at 1,000 messages a second the sender records and
        claims every few milliseconds, and each trip to the database thread can wait for the event loop's thread.
        """
        return await self._db.atomic(_claim, channel, limit, to_db_time(now), sent)

    async def release(self, delivery_id: int, at: datetime) -> None:
        """Put a claimed delivery back, untried (e.g. its chat got a message less than a second ago)."""
        await self._db.execute(
            "UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = ?"
            " WHERE id = ? AND state = 'sending'",
            (to_db_time(at), delivery_id),
        )

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        await self.mark_sent_many([(delivery_id, message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record deliveries sent, (id, message id) each, in one statement."""
        if sent:
            await self._db.execute(*_mark_sent(sent, to_db_time(now)))

    async def mark_retry(
        self, delivery_id: int, at: datetime, error: str, *, attempt: bool, throttled: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        """Back to pending until `at`. A 429 (`throttled` = the broadcast id) counts on the broadcast, not as an
        attempt; a transient error counts as one (`ambiguous`: a timeout, the message may have arrived)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = ?, error = ?,"
                " attempts = attempts + ?, ambiguous = max(ambiguous, ?) WHERE id = ?",
                (to_db_time(at), error[:200], int(attempt), int(ambiguous), delivery_id),
            )
            if throttled is not None:
                await tx.execute("UPDATE broadcasts SET throttled = throttled + 1 WHERE id = ?", (throttled,))

    async def mark_failed(self, delivery_id: int, error: str, state: DeliveryState = DeliveryState.FAILED) -> None:
        await self._db.execute(
            "UPDATE deliveries SET state = ?, error = ?, attempts = attempts + 1 WHERE id = ?",
            (state.value, error[:200], delivery_id),
        )

    async def skip(self, delivery_id: int, state: DeliveryState, reason: str) -> None:
        """Not sent, not tried: the chat opted out or was blocked after the broadcast was queued."""
        await self._db.execute(
            "UPDATE deliveries SET state = ?, error = ?, claimed_at = NULL WHERE id = ?",
            (state.value, reason, delivery_id),
        )

    async def mark_blocked(self, delivery_id: int, chat_id: int, error: str) -> None:
        """The user blocked the bot: the chat is marked and nothing else queued for it is sent."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET state = 'blocked', error = ?, attempts = attempts + 1 WHERE id = ?",
                (error[:200], delivery_id),
            )
            await tx.execute("UPDATE chats SET blocked = 1 WHERE id = ?", (chat_id,))
            await tx.execute(
                "UPDATE deliveries SET state = 'blocked', error = 'blocked' WHERE chat_id = ? AND state = 'pending'",
                (chat_id,),
            )

    async def recover_stale(self, older_than: datetime) -> int:
        """Deliveries left 'sending' by a sender that died: back to pending, flagged ambiguous (sent again).

        Only a sender's in-flight messages can be in this state, so their number is bounded by its concurrency.
        Times are stored to the second (cut, not rounded): one second more keeps the lease whole.
        """
        return await self._db.execute(
            "UPDATE deliveries SET state = 'pending', ambiguous = 1, claimed_at = NULL"
            " WHERE state = 'sending' AND claimed_at < ?",
            (to_db_time(older_than - timedelta(seconds=1)),),
        )

    async def cancel_pending(self) -> int:
        """Mark a chunk of the pending deliveries of cancelled broadcasts cancelled; how many."""
        return await self._db.execute(
            "UPDATE deliveries SET state = 'cancelled' WHERE id IN (SELECT d.id FROM broadcasts b"
            " JOIN deliveries d ON d.broadcast_id = b.id AND d.state = 'pending' WHERE b.state = 'cancelled'"
            " LIMIT ?)",
            (CANCEL_CHUNK,),
        )

    async def finish(self, now: datetime) -> list[int]:
        """Running broadcasts fully expanded with nothing left to send are done; their ids."""
        rows = await self._db.fetchall(
            "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE state = 'running' AND expand_stage >= ?"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = broadcasts.id"
            " AND d.state IN ('pending', 'sending')) RETURNING id",
            (to_db_time(now), STAGE_DONE),
        )
        return [r["id"] for r in rows]

    async def has_work(self, channel: str, now: datetime) -> datetime | None:
        """The earliest time a delivery on `channel` becomes ready (None: nothing queued), for idle sleeps."""
        row = await self._db.fetchone(
            "SELECT min(d.next_attempt_at) AS at FROM broadcasts b JOIN deliveries d ON d.broadcast_id = b.id"
            " AND d.channel = ? AND d.state = 'pending' WHERE b.state = 'running'",
            (channel,),
        )
        return from_db_time(row["at"]) if row else None

    # --- progress -----------------------------------------------------------------------------------------
    async def stats(self, broadcast: Broadcast, now: datetime) -> BroadcastStats:
        rows = await self._db.fetchall(
            "SELECT state, count(*) AS n, sum(sent_at >= ?) AS recent FROM deliveries WHERE broadcast_id = ?"
            " GROUP BY state",
            (to_db_time(now - timedelta(minutes=1)), broadcast.id),
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
            "SELECT * FROM broadcasts WHERE kind != 'notice' AND (state IN ('scheduled', 'running', 'paused')"
            " OR (state IN ('done', 'cancelled') AND coalesce(finished_at, created_at) >= ?))"
            " ORDER BY id DESC LIMIT ?",
            (to_db_time(since), limit),
        )
        return [_broadcast(r) for r in rows]

    async def for_chats(self, chat_ids: Sequence[int], limit: int, account_id: int | None = None) -> list[DeliveryView]:
        """The last messages queued for these chats (or for the account, on any chat), newest first."""
        marks = ",".join("?" * len(chat_ids))
        rows = await self._db.fetchall(
            "SELECT d.*, b.kind, b.wave, b.body, b.state AS b_state FROM deliveries d"
            f" JOIN broadcasts b ON b.id = d.broadcast_id WHERE d.chat_id IN ({marks}) OR d.person = ?"
            " ORDER BY d.id DESC LIMIT ?",
            (*chat_ids, account_id if account_id is not None else 0, limit),
        )
        views = []
        for r in rows:
            state = DeliveryState(r["state"])
            if state is DeliveryState.PENDING and r["b_state"] == BroadcastState.CANCELLED:
                state = DeliveryState.CANCELLED
            views.append(DeliveryView(
                id=r["id"], kind=BroadcastKind(r["kind"]), broadcast_id=r["broadcast_id"], wave=r["wave"],
                body=r["body"], state=state, attempts=r["attempts"], sent_at=from_db_time(r["sent_at"]),
                next_attempt_at=from_db_time(r["next_attempt_at"]), error=r["error"],
            ))
        return views

