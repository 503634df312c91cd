-- Roles an admin granted with /peran, on top of ADMIN_IDS / SUPPORT_IDS from the settings.
-- A revoked grant stays as role 'applicant' until the sender has reset that chat's command menu.
CREATE TABLE granted_roles (
    channel      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('applicant', 'support', 'admin')),
    granted_by   TEXT    NOT NULL,
    granted_at   TEXT    NOT NULL,
    menu_synced  INTEGER NOT NULL DEFAULT 0,  -- the chat's command menu (setMyCommands) matches the role
    PRIMARY KEY (channel, user_id)
) WITHOUT ROWID;

-- The outbox. A broadcast is one message to an audience: a personal notice (one recipient), a wave's results
-- (each recipient gets their own result, rendered when sent), or an admin's broadcast text.
CREATE TABLE broadcasts (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('notice', 'results', 'broadcast')),
    priority       INTEGER NOT NULL,            -- lower is sent first: notices, then results, then broadcasts
    dedupe_key     TEXT    UNIQUE,              -- 'results:3': publishing wave 3 again reuses this row
    wave           INTEGER,                     -- results: the wave
    body           TEXT,                        -- notice/broadcast text (the Reply HTML subset)
    photo          TEXT,                        -- a platform file id of a photo, optional
    video_url      TEXT,                        -- a link button under the message, optional
    audience       TEXT    NOT NULL DEFAULT '{}',  -- JSON filter, see storage.models.Audience
    state          TEXT    NOT NULL
                   CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'cancelled', 'done')),
    scheduled_at   TEXT,
    created_by     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    -- Audience expansion runs in chunks, resumable after a crash: stage 0 linked accounts (by account id),
    -- stage 1 unlinked chats (by chat id), stage 2 done; the cursor is the last id expanded.
    expand_stage   INTEGER NOT NULL DEFAULT 0,
    expand_cursor  INTEGER NOT NULL DEFAULT 0,
    queued         INTEGER NOT NULL DEFAULT 0,  -- deliveries inserted so far
    throttled      INTEGER NOT NULL DEFAULT 0   -- 429 answers (retry_after) received while sending it
);
CREATE INDEX broadcasts_by_state ON broadcasts (state, priority, id);

-- One row per message per recipient. `person` is the account id of a linked chat, or minus the chat id of an
-- unlinked one: the unique key makes "publishing twice sends nothing twice" and "a person linked on two
-- channels gets a broadcast once" hold in the schema itself.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    broadcast_id     INTEGER NOT NULL REFERENCES broadcasts (id),
    chat_id          INTEGER NOT NULL REFERENCES chats (id),
    person           INTEGER NOT NULL,
    channel          TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    claimed_at       TEXT,                      -- when a sender took it (state 'sending'): its lease
    sent_at          TEXT,
    error            TEXT,
    message_id       TEXT,                      -- the platform's id of the message sent
    ambiguous        INTEGER NOT NULL DEFAULT 0,  -- was in flight when a sender died; sent again after the lease
    UNIQUE (broadcast_id, person)
);
CREATE UNIQUE INDEX deliveries_by_chat ON deliveries (chat_id, broadcast_id);
CREATE INDEX deliveries_ready ON deliveries (broadcast_id, channel, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_in_flight ON deliveries (claimed_at) WHERE state = 'sending';
CREATE INDEX deliveries_by_state ON deliveries (broadcast_id, state, sent_at);
CREATE INDEX deliveries_by_person ON deliveries (person);  -- support: the last messages to an account

-- Audience expansion walks linked chats by account id.
CREATE INDEX chats_by_account ON chats (account_id) WHERE account_id IS NOT NULL;
