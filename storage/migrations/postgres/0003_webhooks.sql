-- storage/migrations/sqlite/0003_webhooks.sql on PostgreSQL (comments on meaning there). `webhook_seen`'s
-- primary key is what deduplicates redelivered updates across processes: INSERT ... ON CONFLICT DO NOTHING.
CREATE TABLE webhook_seen (
    source   text NOT NULL,
    id       text NOT NULL,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX webhook_seen_by_time ON webhook_seen (seen_at);

CREATE TABLE whatsapp_chats (
    external_id      text PRIMARY KEY,
    bsuid            text,
    last_inbound_at  timestamptz,
    choices          text,
    choices_at       timestamptz
);

CREATE TABLE whatsapp_initiated (
    external_id  text PRIMARY KEY,
    opened_at    timestamptz NOT NULL
);
CREATE INDEX whatsapp_initiated_by_time ON whatsapp_initiated (opened_at);

CREATE TABLE whatsapp_statuses (
    message_id  text PRIMARY KEY,
    recipient   text NOT NULL,
    status      text NOT NULL,
    error_code  integer,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX whatsapp_statuses_by_status ON whatsapp_statuses (status);

CREATE INDEX audit_by_action ON audit_log (action);
-- The sender looks up deliveries by the platform's message id (status callbacks).
CREATE INDEX deliveries_by_message ON deliveries (message_id) WHERE message_id IS NOT NULL;
