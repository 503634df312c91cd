-- What several processes share (PostgreSQL only; one SQLite process keeps these in memory).

-- Per-chat turns: a webhook takes the chat's next ticket before it answers 200, so the tickets follow the order in
-- which the platform delivered the chat's updates (Telegram sends a chat's next update only after the 200 for the
-- previous one). A process handles ticket N only once N-1 is served, holding the chat's advisory lock.
CREATE TABLE chat_turns (
    channel   text   NOT NULL,
    chat      text   NOT NULL,
    issued    bigint NOT NULL DEFAULT 0,   -- the last ticket handed out
    served    bigint NOT NULL DEFAULT 0,   -- the last ticket handled (or given up on)
    served_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, chat)
);

-- The platform's rate budget, shared by every sender: a token bucket per channel, refilled from the database's
-- clock (one clock for all machines) and taken from in one atomic UPDATE.
CREATE TABLE rate_budget (
    channel       text PRIMARY KEY,
    tokens        double precision NOT NULL,
    updated_at    timestamptz NOT NULL,
    paused_until  timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00'
);
