-- Registry records as imported from the programme (CSV today, a live source later).
-- The NIK is never stored: only its HMAC with the server's pepper (NIK_PEPPER).
CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    nik_hash     TEXT    NOT NULL UNIQUE,
    phone        TEXT    NOT NULL,          -- E.164, e.g. +6281234567890
    name         TEXT    NOT NULL,
    card_number  TEXT,                      -- 16 digits, only once lolos
    balance      INTEGER,                   -- whole rupiah
    balance_at   TEXT,                      -- ISO 8601 UTC
    updated_at   TEXT    NOT NULL
);
CREATE INDEX accounts_by_phone ON accounts (phone);
CREATE UNIQUE INDEX accounts_by_card ON accounts (card_number) WHERE card_number IS NOT NULL;

CREATE TABLE waves (
    number        INTEGER PRIMARY KEY,
    announce_at   TEXT,                     -- planned announcement time, ISO 8601 UTC
    published_at  TEXT                      -- results visible from this time
);

CREATE TABLE wave_results (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    wave        INTEGER NOT NULL REFERENCES waves (number),
    result      TEXT CHECK (result IN ('lolos', 'tidak_lolos')),   -- NULL: not decided yet
    PRIMARY KEY (account_id, wave)
) WITHOUT ROWID;
CREATE INDEX wave_results_by_wave ON wave_results (wave, result);

CREATE TABLE chats (
    id                     INTEGER PRIMARY KEY,
    channel                TEXT    NOT NULL,
    external_id            TEXT    NOT NULL,
    user_id                TEXT,
    locale                 TEXT    NOT NULL DEFAULT 'id',
    account_id             INTEGER REFERENCES accounts (id),
    linked_at              TEXT,
    opted_out              INTEGER NOT NULL DEFAULT 0,
    blocked                INTEGER NOT NULL DEFAULT 0,
    video_watched_at       TEXT,
    platforms_compared_at  TEXT,
    training_chosen_at     TEXT,
    training_bought_at     TEXT,
    first_seen             TEXT    NOT NULL,
    last_seen              TEXT    NOT NULL,
    UNIQUE (channel, external_id)
);
-- One account is linked from at most one chat per channel.
CREATE UNIQUE INDEX chats_one_link_per_channel ON chats (channel, account_id) WHERE account_id IS NOT NULL;

CREATE TABLE conversations (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats (id),
    step        TEXT NOT NULL,
    payload     TEXT NOT NULL,              -- JSON of the handler's typed state
    updated_at  TEXT NOT NULL
);

-- Failed link verifications, keyed by what is attacked: 'chat:<id>' and 'phone:<E.164>', so a lock-out holds
-- across chats and channels for the same phone number.
CREATE TABLE link_attempts (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    locked_until    TEXT,
    last_failure_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE platforms (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    data     TEXT NOT NULL                  -- JSON: url, domains, texts per locale
);

CREATE TABLE trainings (
    id          TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL REFERENCES platforms (id),
    title       TEXT NOT NULL,
    category    TEXT NOT NULL,
    price       INTEGER NOT NULL,
    hours       INTEGER,
    url         TEXT NOT NULL,
    search_text TEXT NOT NULL               -- lower-case title + category + platform, for keyword search
);
CREATE INDEX trainings_by_price ON trainings (price);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,                 -- principal, e.g. '12345' or 'whatsapp:62812...' or 'system'
    role     TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT,                          -- e.g. 'account:17' or 'chat:3'
    detail   TEXT
);
CREATE INDEX audit_by_subject ON audit_log (subject, at);
