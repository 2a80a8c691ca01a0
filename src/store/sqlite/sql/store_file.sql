-- What the backup, restore and verify commands read of a store file (backup.cpp).

-- name: file_sandboxes
-- The sandboxes a file holds (deleted ones aside), and how many of them are allocated.
SELECT count(*) FILTER (WHERE status <> 'deleted'), count(*) FILTER (WHERE status = 'allocated') FROM sandboxes

-- name: file_history_events
SELECT count(*) FROM sandbox_events

-- name: file_has_tables
-- 2 in a sandbox-broker store: the tables every schema version has.
SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('sandboxes', 'sandbox_events')
