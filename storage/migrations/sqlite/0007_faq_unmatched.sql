-- Free text (issue 13). The FAQ in force when an admin imported one (no row: the file shipped with the bot), and
-- the messages the bot did not understand, counted per day (WIB), masked: never a NIK, card or phone number.
CREATE TABLE faq (
    id          INTEGER PRIMARY KEY CHECK (id = 1),   -- one FAQ in force
    body        TEXT    NOT NULL,                    -- the imported faq.toml as uploaded (validated)
    version     TEXT    NOT NULL,                    -- its digest: processes compare it to reload
    entries     INTEGER NOT NULL,
    imported_at TEXT    NOT NULL,
    imported_by TEXT    NOT NULL                     -- a principal ('telegram:123') or 'cli'
);

CREATE TABLE unmatched (
    day     TEXT    NOT NULL,                        -- 'YYYY-MM-DD' in WIB
    text    TEXT    NOT NULL,                        -- masked, lower case, spaces collapsed, cut to 100 characters
    locale  TEXT    NOT NULL,                        -- the chat's language when it was last seen
    count   INTEGER NOT NULL,
    PRIMARY KEY (day, text)
);
