-- Webhooks: ids of updates seen recently, so that a redelivered update (same Telegram update_id, same WhatsApp
-- message id) is handled once, also after a restart. Pruned after a week (Meta retries for up to 7 days).
CREATE TABLE webhook_seen (
    source   TEXT NOT NULL,                 -- 'telegram' | 'whatsapp'
    id       TEXT NOT NULL,
    seen_at  TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE INDEX webhook_seen_by_time ON webhook_seen (seen_at);

-- WhatsApp chats: the time of the user's last message (free-form messages only within 24 hours of it), the
-- business-scoped user id when Meta gives one, and the numbered choices (and masked secrets) of the last message
-- sent, so that a typed "3" presses choice 3.
CREATE TABLE whatsapp_chats (
    external_id      TEXT PRIMARY KEY,      -- the chat id: phone digits, or the BSUID
    bsuid            TEXT,
    last_inbound_at  TEXT,
    choices          TEXT,                  -- JSON, NULL when the last message had no numbered choices
    choices_at       TEXT
) WITHOUT ROWID;

-- Business-initiated conversations (a template to a user outside the window): the messaging-limit tier counts
-- the unique users of the last 24 hours.
CREATE TABLE whatsapp_initiated (
    external_id  TEXT PRIMARY KEY,
    opened_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX whatsapp_initiated_by_time ON whatsapp_initiated (opened_at);

-- Status callbacks of sent WhatsApp messages (sent < delivered < read; failed), by WhatsApp message id.
CREATE TABLE whatsapp_statuses (
    message_id  TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_code  INTEGER,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX whatsapp_statuses_by_status ON whatsapp_statuses (status);

-- /metrics counts link failures from the audit log.
CREATE INDEX audit_by_action ON audit_log (action);
