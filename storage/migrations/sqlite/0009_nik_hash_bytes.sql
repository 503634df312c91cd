-- The NIK hash as its 32 raw bytes, no longer 64 hex characters (issue 15.3): half the size of the unique index
-- and of every key the import sorts and compares. The column's declared type stays TEXT: SQLite stores a BLOB in
-- it as it is (affinity never converts a BLOB), and another type would mean rebuilding `accounts`, which other
-- tables reference. Anything that is not a hash (no such row is written by the bot) is left as it is.
-- unhex() is SQLite's from 3.41; storage/sqlite/database.py provides it on older versions.
UPDATE accounts SET nik_hash = unhex(nik_hash)
WHERE typeof(nik_hash) = 'text' AND length(nik_hash) = 64 AND nik_hash NOT GLOB '*[^0-9a-f]*';
