-- The NIK hash as its 32 raw bytes, no longer 64 hex characters (issue 15.3): half the size of the unique index
-- and of every key the import sorts and compares. Anything that is not a hash (no such row is written by the bot)
-- keeps its bytes.
ALTER TABLE accounts ALTER COLUMN nik_hash TYPE bytea USING
    CASE WHEN nik_hash ~ '^[0-9a-f]{64}$' THEN decode(nik_hash, 'hex') ELSE convert_to(nik_hash, 'UTF8') END;
