-- The hand-off to support staff (issue 8): a ticket per question an applicant asks a person, and every message of
-- it, both ways. Staff answer in a Telegram supergroup with topics: one topic per ticket (`topic_id`).
CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL REFERENCES chats (id),   -- the applicant's chat: answers go there
    account_id       INTEGER REFERENCES accounts (id),         -- linked then, if it was
    state            TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    label            TEXT    NOT NULL,      -- the topic's name after the number: a masked phone, never the NIK
    opened_at        TEXT    NOT NULL,
    waiting_since    TEXT,                  -- the applicant's first message not answered yet (NULL: answered)
    first_reply_at   TEXT,
    assignee         TEXT,                  -- the staff member who answered first
    topic_id         INTEGER,               -- message_thread_id of its topic in the support group, once made
    desk_claimed_at  TEXT,                  -- a desk worker is posting its messages (a lease, like deliveries)
    closed_at        TEXT,
    closed_by        TEXT,                  -- a staff principal, or the applicant's
    rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
    rated_at         TEXT
);
-- One open ticket per chat: a second question joins it.
CREATE UNIQUE INDEX tickets_one_open_per_chat ON tickets (chat_id) WHERE state = 'open';
CREATE INDEX tickets_by_chat ON tickets (chat_id, id);
CREATE UNIQUE INDEX tickets_by_topic ON tickets (topic_id) WHERE topic_id IS NOT NULL;
CREATE INDEX tickets_by_state ON tickets (state, opened_at);
CREATE INDEX tickets_by_assignee ON tickets (assignee, closed_at) WHERE assignee IS NOT NULL;

-- Messages: 'in' applicant -> staff and 'note' bot -> staff are posted in the topic by the desk ('queued' until
-- then); 'out' staff -> applicant go through the outbox ('sent' = queued there). NIKs are masked before storing.
CREATE TABLE ticket_messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    at          TEXT    NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    author      TEXT    NOT NULL,          -- a principal, or 'system'
    kind        TEXT    NOT NULL CHECK (kind IN ('text', 'photo', 'document', 'note', 'close')),
    body        TEXT    NOT NULL,          -- text or caption (plain), or the bot's note (HTML)
    file_id     TEXT,                      -- a platform file id (Telegram: relayed by id, never downloaded)
    file_name   TEXT,
    file_size   INTEGER,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'posted', 'failed', 'refused', 'sent')),
    platform_id TEXT,                      -- the message id in the topic, or the outbox broadcast id
    error       TEXT
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, at);
CREATE INDEX ticket_messages_queued ON ticket_messages (ticket_id, id) WHERE state = 'queued';
