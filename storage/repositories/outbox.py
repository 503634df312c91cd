"""The outbox: broadcasts and their deliveries (one row per message per recipient).

Nothing here holds an audience in memory. Expansion (`expand_step`) is `INSERT ... SELECT` over a chunk of
account ids (then of unlinked chat ids), resumable from a cursor stored with the broadcast; a sender claims a
few ready deliveries at a time (`claim`: `UPDATE ... RETURNING`) and records each outcome right after the send.
The unique keys of `deliveries` (one per person and one per chat per broadcast) make a repeated publish or a
person linked on two channels harmless: the second insert does nothing.

Where several senders share the outbox (PostgreSQL, design note 10), `claim` skips rows another sender is claiming
(`SKIP LOCKED`) and chats another one has in flight (`Dialect.claim_spacing`), and `expand_step` locks its
broadcast's row, so two senders never expand the same chunk twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from operator import itemgetter

from storage.core import Repository, Row, Statement, Unit, as_time, count, now_utc, one, rows, unit, value
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
    NoticeButton,
    NoticeButtons,
    WaveResult,
)
from storage.repositories.chats import ACCOUNT_COLUMNS, account_of, audit, chat_of

PRIORITY = {BroadcastKind.NOTICE: 0, BroadcastKind.RESULTS: 1, BroadcastKind.BROADCAST: 2}
EXPAND_CHUNK = 1000  # accounts (or unlinked chats) per expansion transaction: a few milliseconds each
CANCEL_CHUNK = 5000
STAGE_LINKED, STAGE_UNLINKED, STAGE_DONE = 0, 1, 2
_id = itemgetter("id")


def audience_json(audience: Audience) -> str:
    data = {"unlinked": audience.unlinked, "wave": audience.wave, "channel": audience.channel,
            "result": audience.result.value if audience.result else None,
            "gap": audience.gap.value if audience.gap else None}
    return json.dumps({k: v for k, v in data.items() if v not in (None, False)}, sort_keys=True)


def audience_from_json(text: str) -> Audience:
    data = json.loads(text or "{}")
    return Audience(unlinked=bool(data.get("unlinked")),
                    wave=data.get("wave"),
                    result=WaveResult(data["result"]) if data.get("result") else None,
                    channel=data.get("channel"),
                    gap=GuideGap(data["gap"]) if data.get("gap") else None)


def buttons_json(buttons: NoticeButtons) -> str | None:
    """A notice's buttons as kept in `broadcasts.buttons`: rows of {label, action, arg} or {label, url}."""
    if not buttons:
        return None
    return json.dumps([[{"label": b.label, "url": b.url} if b.url else {"label": b.label, "action": b.action,
                                                                       "arg": b.arg} for b in row]
                       for row in buttons], ensure_ascii=False)


def buttons_from_json(text: str | None) -> NoticeButtons:
    return tuple(tuple(NoticeButton(**button) for button in row) for row in json.loads(text)) if text else ()


def _broadcast(r: Row) -> Broadcast:
    return Broadcast(
        id=r["id"], kind=BroadcastKind(r["kind"]), state=BroadcastState(r["state"]), wave=r["wave"], body=r["body"],
        photo=r["photo"], video_url=r["video_url"], audience=audience_from_json(r["audience"]),
        scheduled_at=as_time(r["scheduled_at"]), created_by=r["created_by"], created_at=as_time(r["created_at"]),
        started_at=as_time(r["started_at"]), finished_at=as_time(r["finished_at"]),
        expanded=r["expand_stage"] >= STAGE_DONE, queued=r["queued"], throttled=r["throttled"],
        buttons=buttons_from_json(r["buttons"]),
    )


def _linked_filter(kind: BroadcastKind, audience: Audience, wave: int | None) -> tuple[str, list[object]]:
    """WHERE terms (over `chats ch`) for linked chats of the audience; opted-out and blocked chats excluded."""
    terms = ["ch.blocked = false", "ch.opted_out = false"]
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
    terms = ["ch.account_id IS NULL", "ch.blocked = false", "ch.opted_out = false"]
    params: list[object] = []
    if audience.channel:
        terms.append("ch.channel = ?")
        params.append(audience.channel)
    return " AND ".join(terms), params


def _id_range(column: str, lower: int, upper: int | None) -> tuple[str, tuple[int, ...]]:
    """`column > lower` and, unless this is the last chunk, `column <= upper`: a plain index range either way."""
    if upper is None:
        return f"{column} > ?", (lower,)
    return f"{column} > ? AND {column} <= ?", (lower, upper)


def _delivery_view(r: Row) -> DeliveryView:
    state = DeliveryState(r["state"])
    if state is DeliveryState.PENDING and r["b_state"] == BroadcastState.CANCELLED:
        state = DeliveryState.CANCELLED
    return DeliveryView(
        id=r["id"], kind=BroadcastKind(r["kind"]), broadcast_id=r["broadcast_id"], wave=r["wave"], body=r["body"],
        state=state, attempts=r["attempts"], sent_at=as_time(r["sent_at"]),
        next_attempt_at=as_time(r["next_attempt_at"]), error=r["error"],
    )


class OutboxRepository(Repository):
    # --- broadcasts ---------------------------------------------------------------------------------------
    async def create(self, kind: BroadcastKind, created_by: str, *, body: str | None = None,
                     audience: Audience | None = None, state: BroadcastState = BroadcastState.DRAFT) -> Broadcast:
        created = await self._one(
            _broadcast,
            "INSERT INTO broadcasts (kind, priority, body, audience, state, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (kind.value, PRIORITY[kind], body, audience_json(audience or Audience()), state.value, created_by,
             now_utc()),
        )
        assert created is not None  # INSERT ... RETURNING: always a row
        return created

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self._one(_broadcast, "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))

    async def results_broadcast(self, wave: int) -> Broadcast | None:
        return await self._one(_broadcast, "SELECT * FROM broadcasts WHERE dedupe_key = ?", (f"results:{wave}",))

    async def edit_draft(self, broadcast_id: int, *, body: str | None = None, photo: str | None = None,
                         video_url: str | None = None, audience: Audience | None = None, clear_photo: bool = False,
                         clear_video: bool = False) -> Broadcast | None:
        """Change a draft; None if it is no longer a draft (sent, cancelled) or does not exist."""
        return await self._one(_broadcast,
                               "UPDATE broadcasts SET body = coalesce(?, body),"
                               " photo = CASE WHEN ? THEN NULL ELSE coalesce(?, photo) END,"
                               " video_url = CASE WHEN ? THEN NULL ELSE coalesce(?, video_url) END,"
                               " audience = coalesce(?, audience)"
                               " WHERE id = ? AND state = 'draft' RETURNING *",
                               (body, clear_photo, photo, clear_video, video_url,
                                audience_json(audience) if audience is not None else None, broadcast_id))

    async def start(self, broadcast_id: int, at: datetime | None = None) -> Broadcast | None:
        """Confirm a draft: running now, or scheduled for `at`. None if it was not a draft (pressed twice)."""
        change = "state = 'running', started_at = ?" if at is None else "state = 'scheduled', scheduled_at = ?"
        return await self._one(_broadcast, f"UPDATE broadcasts SET {change} WHERE id = ? AND state = 'draft'"
                               " RETURNING *", (at or now_utc(), broadcast_id))

    async def set_state(
        self, broadcast_id: int, new: BroadcastState, allowed_from: Sequence[BroadcastState]
    ) -> Broadcast | None:
        """Pause, resume or cancel; None if the broadcast was not in one of `allowed_from`."""
        finished = now_utc() if new in (BroadcastState.CANCELLED, BroadcastState.DONE) else None
        allowed, params = self._d.isin("state", [s.value for s in allowed_from])
        return await self._one(_broadcast, "UPDATE broadcasts SET state = ?, finished_at = coalesce(?, finished_at)"
                               f" WHERE id = ? AND {allowed} RETURNING *", (new.value, finished, broadcast_id, *params))

    @unit
    def publish_results(self, wave: int, actor: str, role: str) -> Unit[tuple[Broadcast, bool]]:
        """Publish the wave and queue its results broadcast; (broadcast, True if the wave was newly published).

        Publishing again re-runs the expansion of the same broadcast: the unique keys make it add only people
        who had no message yet (e.g. linked since), so nothing is sent twice.
        """
        now = now_utc()
        published = yield count("UPDATE waves SET published_at = ? WHERE number = ? AND published_at IS NULL",
                                (now, wave))
        row = yield one(
            "INSERT INTO broadcasts (kind, priority, dedupe_key, wave, state, created_by, created_at, started_at)"
            " VALUES ('results', ?, ?, ?, 'running', ?, ?, ?)"
            " ON CONFLICT (dedupe_key) DO UPDATE SET state = 'running', expand_stage = 0, expand_cursor = 0,"
            " finished_at = NULL RETURNING *",
            (PRIORITY[BroadcastKind.RESULTS], f"results:{wave}", wave, actor, now, now),
        )
        yield audit(actor, role, "publish", f"wave:{wave}", f"broadcast:{row['id']}", now)
        return _broadcast(row), published > 0

    @unit
    def notice(self, chat_id: int, body: str, created_by: str, account_id: int | None = None,
               buttons: NoticeButtons = ()) -> Unit[int]:
        """Queue one personal message to a chat (sent even if it opted out of announcements), with its buttons if
        it has some; `account_id` files it under that account for support's look-up (e.g. the chat was just
        unlinked from it)."""
        now = now_utc()
        broadcast_id = yield value(
            "INSERT INTO broadcasts (kind, priority, body, buttons, state, created_by, created_at, started_at,"
            " expand_stage, queued) VALUES ('notice', ?, ?, ?, 'running', ?, ?, ?, ?, 1) RETURNING id",
            (PRIORITY[BroadcastKind.NOTICE], body, buttons_json(buttons), created_by, now, now, STAGE_DONE),
        )
        yield count("INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                    " SELECT ?, id, coalesce(?, -id), channel, ? FROM chats WHERE id = ?",
                    (broadcast_id, account_id, now, chat_id))
        return int(broadcast_id)

    # --- audience -----------------------------------------------------------------------------------------
    async def count_audience(self, audience: Audience) -> AudienceCount:
        """How many people a broadcast to `audience` reaches right now (one per person)."""
        where, params = _linked_filter(BroadcastKind.BROADCAST, audience, None)
        total = await self._db.fetchval(
            f"SELECT count(DISTINCT ch.account_id) FROM chats ch WHERE ch.account_id IS NOT NULL AND {where}", params
        ) or 0
        unlinked = _unlinked_filter(audience)
        if unlinked is not None:
            where, params = unlinked
            total += await self._db.fetchval(f"SELECT count(*) FROM chats ch WHERE {where}", params) or 0
        return AudienceCount(int(total))

    async def count_results_audience(self, wave: int) -> AudienceCount:
        """People a publish of `wave` would message now: linked, not opted out or blocked, with a result, and
        not already sent (or queued) this wave's results."""
        existing = await self.results_broadcast(wave)
        where, params = _linked_filter(BroadcastKind.RESULTS, Audience(), wave)
        counts = await self._pairs(
            "SELECT r.result, count(DISTINCT ch.account_id) AS n FROM chats ch"
            " JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = ?"
            f" WHERE ch.account_id IS NOT NULL AND {where}"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = ? AND d.person = ch.account_id)"
            " GROUP BY r.result",
            (wave, *params, existing.id if existing else -1),
        )
        lolos, tidak = counts.get(WaveResult.LOLOS.value, 0), counts.get(WaveResult.TIDAK_LOLOS.value, 0)
        return AudienceCount(lolos + tidak, lolos, tidak)

    @unit
    def expand_step(self, broadcast_id: int, chunk: int = EXPAND_CHUNK) -> Unit[bool]:
        """Queue the deliveries of the next chunk of the audience; True when the expansion is complete."""
        now = now_utc()
        # The row lock (PostgreSQL) makes a second sender's housekeeping wait, then continue from the new cursor.
        row = yield one(f"SELECT * FROM broadcasts WHERE id = ?{self._d.lock()}", (broadcast_id,))
        if row is None or row["expand_stage"] >= STAGE_DONE or row["state"] == BroadcastState.CANCELLED:
            return True
        kind, audience = BroadcastKind(row["kind"]), audience_from_json(row["audience"])
        stage, cursor = row["expand_stage"], row["expand_cursor"]
        added = 0
        if stage == STAGE_LINKED:
            where, params = _linked_filter(kind, audience, row["wave"])
            upper = yield value("SELECT account_id FROM chats WHERE account_id > ? ORDER BY account_id LIMIT 1"
                                " OFFSET ?", (cursor, chunk - 1))
            span, bounds = _id_range("ch.account_id", cursor, upper)
            # The person's most recently seen eligible chat gets the message.
            added = yield count("INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                                " SELECT ?, id, account_id, channel, ? FROM ("
                                "  SELECT ch.id, ch.account_id, ch.channel, row_number() OVER ("
                                "   PARTITION BY ch.account_id ORDER BY ch.last_seen DESC, ch.id) AS rank"
                                f"  FROM chats ch WHERE {span} AND {where}"
                                " ) AS pick WHERE rank = 1 ON CONFLICT DO NOTHING",
                                (broadcast_id, now, *bounds, *params))
            stage, cursor = (STAGE_UNLINKED, 0) if upper is None else (stage, upper)
        else:
            unlinked = _unlinked_filter(audience) if kind is BroadcastKind.BROADCAST else None
            if unlinked is None:
                stage = STAGE_DONE
            else:
                where, params = unlinked
                upper = yield value("SELECT id FROM chats WHERE id > ? AND account_id IS NULL ORDER BY id LIMIT 1"
                                    " OFFSET ?", (cursor, chunk - 1))
                span, bounds = _id_range("ch.id", cursor, upper)
                added = yield count("INSERT INTO deliveries (broadcast_id, chat_id, person, channel, next_attempt_at)"
                                    f" SELECT ?, ch.id, -ch.id, ch.channel, ? FROM chats ch WHERE {span} AND {where}"
                                    " ON CONFLICT DO NOTHING",
                                    (broadcast_id, now, *bounds, *params))
                stage, cursor = (STAGE_DONE, 0) if upper is None else (STAGE_UNLINKED, upper)
        yield count("UPDATE broadcasts SET expand_stage = ?, expand_cursor = ?, queued = queued + ? WHERE id = ?",
                    (stage, cursor, max(added, 0), broadcast_id))
        return stage >= STAGE_DONE

    # --- the sender's side --------------------------------------------------------------------------------
    async def start_due(self, now: datetime) -> list[int]:
        """Scheduled broadcasts whose time has come start running; their ids."""
        return await self._all(_id, "UPDATE broadcasts SET state = 'running', started_at = ?"
                               " WHERE state = 'scheduled' AND scheduled_at <= ? RETURNING id", (now, now))

    async def expanding(self) -> list[int]:
        return await self._all(_id, "SELECT id FROM broadcasts WHERE state IN ('running', 'paused')"
                               " AND expand_stage < ? ORDER BY priority, id", (STAGE_DONE,))

    @unit
    def claim(self, channel: str, limit: int, now: datetime,
              sent: Sequence[tuple[int, str | None]] = ()) -> Unit[list[Claim]]:
        """Record `sent` (deliveries sent: id, message id) and take up to `limit` ready deliveries of running
        broadcasts on `channel`, highest priority first.

        One unit of work: on SQLite one round trip (at 1,000 messages a second the sender records and claims every
        few milliseconds, and each trip to the database thread can wait for the event loop's thread).
        """
        if sent:
            yield self._mark_sent(sent, now)
        claims: list[Claim] = []
        if limit <= 0:
            return claims
        running = yield rows("SELECT id, kind, wave FROM broadcasts WHERE state = 'running' ORDER BY priority, id")
        spacing, spacing_params = self._d.claim_spacing(now)
        for b in running:
            if len(claims) >= limit:
                break
            taken = yield rows(
                "UPDATE deliveries SET state = 'sending', claimed_at = ? FROM ("
                " SELECT p.id FROM deliveries p WHERE p.broadcast_id = ? AND p.channel = ? AND p.state = 'pending'"
                f" AND p.next_attempt_at <= ?{spacing} ORDER BY p.next_attempt_at LIMIT ?{self._d.lock(skip=True)}"
                ") AS pick WHERE deliveries.id = pick.id RETURNING deliveries.id, deliveries.chat_id,"
                " deliveries.person, deliveries.attempts, deliveries.ambiguous",
                (now, b["id"], channel, now, *spacing_params, limit - len(claims)),
            )
            if not taken:
                continue
            by_chat = {r["chat_id"]: r for r in taken}
            chats, params = self._d.isin("ch.id", list(by_chat), "bigint")
            details = yield rows(
                f"SELECT ch.*, {ACCOUNT_COLUMNS}, r.result AS r_result"
                " FROM chats ch LEFT JOIN accounts a ON a.id = ch.account_id"
                f" LEFT JOIN wave_results r ON r.account_id = ch.account_id AND r.wave = ? WHERE {chats}",
                (b["wave"], *params),
            )
            for d in details:
                claimed = by_chat[d["id"]]
                claims.append(Claim(id=claimed["id"], broadcast_id=b["id"], person=claimed["person"], chat=chat_of(d),
                                    account=account_of(d, "a_") if d["a_id"] is not None else None,
                                    result=WaveResult(d["r_result"]) if d["r_result"] else None,
                                    attempts=claimed["attempts"], ambiguous=bool(claimed["ambiguous"])))
        return claims

    def _mark_sent(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> Statement:
        """The statement that records `sent` (id, message id) as sent at `now`."""
        table, params = self._d.rowset("s", {"id": "bigint", "message_id": "text"}, sent)
        return count(f"WITH {table} UPDATE deliveries SET state = 'sent', sent_at = ?, message_id = s.message_id,"
                     " attempts = attempts + 1, error = NULL FROM s WHERE deliveries.id = s.id", (*params, now))

    async def release(self, delivery_id: int, at: datetime) -> None:
        """Put a claimed delivery back, untried (e.g. its chat got a message less than a second ago)."""
        await self._db.execute("UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = ?"
                               " WHERE id = ? AND state = 'sending'",
                               (at, delivery_id))

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        await self.mark_sent_many([(delivery_id, message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record deliveries sent, (id, message id) each, in one statement."""
        if sent:
            statement = self._mark_sent(sent, now)
            await self._db.execute(statement.sql, statement.params)

    @unit
    def mark_retry(
        self, delivery_id: int, at: datetime, error: str, *, attempt: bool, throttled: int | None = None,
        ambiguous: bool = False,
    ) -> Unit[None]:
        """Back to pending until `at`. A 429 (`throttled` = the broadcast id) counts on the broadcast, not as an
        attempt; a transient error counts as one (`ambiguous`: a timeout, the message may have arrived)."""
        yield count("UPDATE deliveries SET state = 'pending', claimed_at = NULL, next_attempt_at = ?, error = ?,"
                    " attempts = attempts + ?, ambiguous = ambiguous OR ? WHERE id = ?",
                    (at, error[:200], int(attempt), ambiguous, delivery_id))
        if throttled is not None:
            yield count("UPDATE broadcasts SET throttled = throttled + 1 WHERE id = ?", (throttled,))

    async def mark_failed(self, delivery_id: int, error: str, state: DeliveryState = DeliveryState.FAILED) -> None:
        await self._db.execute("UPDATE deliveries SET state = ?, error = ?, attempts = attempts + 1 WHERE id = ?",
                               (state.value, error[:200], delivery_id))

    async def skip(self, delivery_id: int, state: DeliveryState, reason: str) -> None:
        """Not sent, not tried: the chat opted out or was blocked after the broadcast was queued."""
        await self._db.execute("UPDATE deliveries SET state = ?, error = ?, claimed_at = NULL WHERE id = ?",
                               (state.value, reason, delivery_id))

    @unit
    def mark_blocked(self, delivery_id: int, chat_id: int, error: str) -> Unit[None]:
        """The user blocked the bot: the chat is marked and nothing else queued for it is sent."""
        yield count("UPDATE deliveries SET state = 'blocked', error = ?, attempts = attempts + 1 WHERE id = ?",
                    (error[:200], delivery_id))
        yield count("UPDATE chats SET blocked = true WHERE id = ?", (chat_id,))
        yield count("UPDATE deliveries SET state = 'blocked', error = 'blocked' WHERE chat_id = ?"
                    " AND state = 'pending'", (chat_id,))

    async def recover_stale(self, older_than: datetime) -> int:
        """Deliveries left 'sending' by a sender that died: back to pending, flagged ambiguous (sent again).

        Only a sender's in-flight messages can be in this state, so their number is bounded by its concurrency.
        Where times are stored cut (SQLite: to the second), one step more keeps the lease whole.
        """
        return await self._db.execute("UPDATE deliveries SET state = 'pending', ambiguous = true, claimed_at = NULL"
                                      " WHERE state = 'sending' AND claimed_at < ?",
                                      (older_than - self._d.time_step,))

    async def cancel_pending(self) -> int:
        """Mark a chunk of the pending deliveries of cancelled broadcasts cancelled; how many."""
        return await self._db.execute(
            "UPDATE deliveries SET state = 'cancelled' WHERE id IN (SELECT d.id FROM broadcasts b"
            " JOIN deliveries d ON d.broadcast_id = b.id AND d.state = 'pending' WHERE b.state = 'cancelled'"
            f" LIMIT ?{self._d.lock('d', skip=True)})",
            (CANCEL_CHUNK,),
        )

    async def finish(self, now: datetime) -> list[int]:
        """Running broadcasts fully expanded with nothing left to send are done; their ids."""
        return await self._all(
            _id,
            "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE state = 'running' AND expand_stage >= ?"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = broadcasts.id"
            " AND d.state IN ('pending', 'sending')) RETURNING id",
            (now, STAGE_DONE),
        )

    async def has_work(self, channel: str, now: datetime) -> datetime | None:
        """The earliest time a delivery on `channel` becomes ready (None: nothing queued), for idle sleeps."""
        return as_time(await self._db.fetchval(
            "SELECT min(d.next_attempt_at) FROM broadcasts b JOIN deliveries d ON d.broadcast_id = b.id"
            " AND d.channel = ? AND d.state = 'pending' WHERE b.state = 'running'",
            (channel,),
        ))

    # --- progress -----------------------------------------------------------------------------------------
    async def stats(self, broadcast: Broadcast, now: datetime) -> BroadcastStats:
        found = await self._db.fetchall(
            "SELECT state, count(*) AS n, count(CASE WHEN sent_at >= ? THEN 1 END) AS recent FROM deliveries"
            " WHERE broadcast_id = ? GROUP BY state",
            (now - timedelta(minutes=1), broadcast.id),
        )
        counts = {r["state"]: r["n"] for r in found}
        recent = sum(r["recent"] for r in found if r["state"] == DeliveryState.SENT)
        pending = counts.get(DeliveryState.PENDING.value, 0)
        cancelled = counts.get(DeliveryState.CANCELLED.value, 0)
        if broadcast.state is BroadcastState.CANCELLED:
            pending, cancelled = 0, cancelled + pending
        return BroadcastStats(
            broadcast=broadcast, pending=pending, sending=counts.get(DeliveryState.SENDING.value, 0),
            sent=counts.get(DeliveryState.SENT.value, 0), failed=counts.get(DeliveryState.FAILED.value, 0),
            blocked=counts.get(DeliveryState.BLOCKED.value, 0), cancelled=cancelled, sent_last_minute=recent,
        )

    async def recent(self, limit: int, since: datetime) -> list[Broadcast]:
        """Results and broadcasts that are scheduled, running or paused, or finished after `since`."""
        return await self._all(
            _broadcast,
            "SELECT * FROM broadcasts WHERE kind <> 'notice' AND (state IN ('scheduled', 'running', 'paused')"
            " OR (state IN ('done', 'cancelled') AND coalesce(finished_at, created_at) >= ?)) ORDER BY id DESC LIMIT ?",
            (since, limit),
        )

    async def for_chats(self, chat_ids: Sequence[int], limit: int, account_id: int | None = None) -> list[DeliveryView]:
        """The last messages queued for these chats (or for the account, on any chat), newest first."""
        chats, params = self._d.isin("d.chat_id", chat_ids, "bigint")
        return await self._all(
            _delivery_view,
            "SELECT d.*, b.kind, b.wave, b.body, b.state AS b_state FROM deliveries d"
            f" JOIN broadcasts b ON b.id = d.broadcast_id WHERE {chats} OR d.person = ? ORDER BY d.id DESC LIMIT ?",
            (*params, account_id if account_id is not None else 0, limit),
        )
