-- The schema of storage/migrations/sqlite/0005_faq_unmatched.sql on PostgreSQL (issue 13: the imported FAQ and the
-- daily counts of messages not understood). Comments on meaning are in the SQLite file.
CREATE TABLE faq (
    id          integer PRIMARY KEY CHECK (id = 1),
    body        text    NOT NULL,
    version     text    NOT NULL,
    entries     integer NOT NULL,
    imported_at timestamptz NOT NULL,
    imported_by text    NOT NULL
);

CREATE TABLE unmatched (
    day     text    NOT NULL,
    text    text    NOT NULL,
    locale  text    NOT NULL,
    count   integer NOT NULL,
    PRIMARY KEY (day, text)
);
