-- The durable inbox (issue 14.3): every update a platform delivered is stored here before it is acknowledged (the
-- webhook's 200, the polling offset moving past it), handled from here, and marked done after its handling. At a
-- start the rows not done are handled again, in id order (each chat's order). The unique key drops redeliveries.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    channel      TEXT    NOT NULL,   -- 'telegram' | 'whatsapp'
    update_id    TEXT    NOT NULL,   -- Telegram's update_id, WhatsApp's message id (wamid)
    payload      TEXT,               -- the update, sealed with a key of the NIK pepper (bot/inbox/seal.py); NULL once done
    received_at  TEXT    NOT NULL,
    done_at      TEXT,
    UNIQUE (channel, update_id)
);
CREATE INDEX inbox_unfinished ON inbox (id) WHERE done_at IS NULL;
CREATE INDEX inbox_done ON inbox (done_at) WHERE done_at IS NOT NULL;
