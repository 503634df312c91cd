-- Verification codes asked for on WhatsApp (issue 14.5): one row per request of a code to a typed number, kept
-- an hour. Limits per chat, per number and for all chats together are counted from it (handlers/link.py).
-- Requests to unregistered numbers count as well: the limits reveal nothing about which numbers are registered.
CREATE TABLE link_codes (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,   -- the chat that asked (chats.id)
    phone       TEXT    NOT NULL,   -- the typed number, E.164
    sent_at     TEXT    NOT NULL
);
CREATE INDEX link_codes_by_time ON link_codes (sent_at);
CREATE INDEX link_codes_by_chat ON link_codes (chat_id, sent_at);
CREATE INDEX link_codes_by_phone ON link_codes (phone, sent_at);
