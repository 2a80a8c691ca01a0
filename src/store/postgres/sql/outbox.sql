-- The PostgreSQL store's outbox statements (see cmake/EmbedSql.cmake for the convention; the
-- tables and the history's trigger are a schema step, schema/steps.sql step_08_outbox, which says why events
-- wait in outbox_pending until the sequencer gives them their final ids).

-- name: outbox_sequencer_lock
-- One sequencer at a time per schema (tests give each store a schema of its own).
SELECT pg_advisory_xact_lock(hashtext('sandbox-broker outbox'), hashtext(coalesce(current_schema(), '')))

-- name: outbox_any_pending
-- Whether anything waits for the sequencer: readers poll, and most polls find nothing, so
-- they look before taking the sequencer's lock.
SELECT EXISTS (SELECT 1 FROM outbox_pending)

-- name: outbox_pending
-- The oldest pending events, at most $1.
SELECT id, at, type, data, sandbox_id, from_status, to_status, actor, reason, name, external_id,
    sfdc_account_id, status, participant, track, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count
FROM outbox_pending ORDER BY id LIMIT $1

-- name: outbox_move
-- $1 the sequenced events as a JSON array of {id, type, at, sandbox_id, track, data}; $2 the
-- pending ids moved (JSON array); $3 the new last id.
WITH moved AS (DELETE FROM outbox_pending WHERE id IN
    (SELECT value::bigint FROM json_array_elements_text($2::json))),
state AS (UPDATE outbox_state SET last_id = $3 WHERE id = 1)
INSERT INTO outbox_events (id, type, at, sandbox_id, track, data)
SELECT id, type, at, sandbox_id, track, data FROM json_to_recordset($1::json)
    AS x(id bigint, type text, at bigint, sandbox_id text, track text, data text)

-- name: outbox_last_id
SELECT last_id FROM outbox_state WHERE id = 1

-- name: outbox_read
-- $1 after, $2 limit.
SELECT id, type, at, sandbox_id, track, data FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2

-- name: outbox_append
-- An event not tied to one sandbox: $1 type, $2 data, $3 at.
INSERT INTO outbox_pending (type, data, at) VALUES ($1, $2, $3)

-- name: outbox_prune
-- $1 delivered up to, $2 older than.
DELETE FROM outbox_events WHERE id <= $1 AND at < $2

-- name: pool_low
SELECT pool_low FROM outbox_state WHERE id = 1

-- name: set_pool_low
-- $1 low, $2 now; a row back only when this call changed the state.
UPDATE outbox_state SET pool_low = $1, pool_changed_at = $2 WHERE id = 1 AND pool_low <> $1 RETURNING id
