-- The SQLite store's outbox statements (see cmake/EmbedSql.cmake for the convention; the
-- table itself is schema step 10, schema/steps.sql). One writer commits batches one after
-- another, so AUTOINCREMENT ids become visible to readers in increasing order (and are never
-- reused, even after the newest events are pruned).

-- name: insert_outbox_event
-- An event in the change's transaction: ?1 type, ?2 at, ?3 sandbox id, ?4 track, ?5 data.
INSERT INTO outbox_events (type, at, sandbox_id, track, data) VALUES (?1, ?2, ?3, ?4, ?5)

-- name: read_outbox_events
-- The events after ?1, oldest first, at most ?2.
SELECT id, type, at, sandbox_id, track, data FROM outbox_events WHERE id > ?1 ORDER BY id LIMIT ?2

-- name: last_outbox_event_id
SELECT coalesce(max(id), 0) FROM outbox_events

-- name: prune_outbox_events
-- ?1 delivered up to, ?2 older than. Events are written in time order, so the old ones are
-- the oldest ids: the delete is the id range up to ?1 that ends before the first event not
-- older than ?2, found by walking the ids from the oldest. `at` has no index, and the plain
-- `id <= ?1 AND at < ?2` read every delivered event to test its time: after an import of
-- 250 000 sandboxes (as many sandbox.synced events, none old) the job's first run read the
-- whole table through the writer's connection, holding up the allocations behind it and
-- filling the writer's page cache with outbox pages. An event written with an earlier time
-- than the one before it (a clock stepped back) waits for that one to age.
DELETE FROM outbox_events
WHERE id <= min(?1, coalesce((SELECT id FROM outbox_events WHERE at >= ?2 ORDER BY id LIMIT 1) - 1, ?1))

-- name: pool_low
SELECT low FROM pool_alert WHERE id = 1

-- name: set_pool_low
-- Moves the state to ?1 (0 or 1) only when it is not that already. ?2 now.
UPDATE pool_alert SET low = ?1, changed_at = ?2 WHERE id = 1 AND low <> ?1
