-- Who handles an inbox row (issue 14.3, design note 22): several `serve` processes on PostgreSQL share the inbox,
-- so each row names the process that stored or took it over (`owner`) and until when that process is known alive
-- (`lease_until`, renewed while it runs). A row not done whose lease ran out is taken over by another process.
-- `turn` is the chat's ticket (storage/postgres/coordination.py) taken for the update before its 200: the process
-- that takes the row over handles it in that turn, so the chat's order holds across the crash. SQLite has one
-- process: the columns are written, and at a start every row not done is its own.
ALTER TABLE inbox ADD COLUMN owner TEXT;
ALTER TABLE inbox ADD COLUMN lease_until TEXT;
ALTER TABLE inbox ADD COLUMN turn INTEGER;
