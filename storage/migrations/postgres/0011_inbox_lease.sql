-- storage/migrations/sqlite/0009_inbox_lease.sql on PostgreSQL (comments on meaning there).
ALTER TABLE inbox ADD COLUMN owner text;
ALTER TABLE inbox ADD COLUMN lease_until timestamptz;
ALTER TABLE inbox ADD COLUMN turn bigint;
