-- The PostgreSQL store's statement of `copy`: sandboxes written in with their history.

-- name: insert_copied
-- `copy`: sandboxes from another store, written as given with their history, each only if
-- its id is not there yet (a rerun carries on). $1..$15 the Sandbox fields in kSandboxColumns order as
-- arrays; $16..$21 the events (sandbox id, at, from, to, actor, reason), oldest first. A stale
-- sandbox is stale since its last change; a failed deletion is due for its next attempt.
-- Allocations take no participant slot (NULL, as those made before slots existed).
-- Result: how many sandboxes were written.
WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::integer[],
    $13::bigint[], $14::bigint[], $15::bigint[]) AS u(sandbox_id, name, external_id,
    sfdc_account_id, status, allocated_to_track, track_name, idempotency_key, allocated_at,
    expires_at, deletion_requested_at, deletion_retry_count, created_at, updated_at, version)),
inserted AS (INSERT INTO sandboxes (sandbox_id, name, external_id, sfdc_account_id, status,
    allocated_to_track, track_name, idempotency_key, allocated_at, expires_at,
    deletion_requested_at, deletion_retry_count, created_at, updated_at, version, stale_since,
    next_deletion_at) SELECT sandbox_id, name, external_id, sfdc_account_id, status,
    allocated_to_track, track_name, idempotency_key, allocated_at, expires_at,
    deletion_requested_at, deletion_retry_count, created_at, updated_at, version,
    CASE WHEN status = 'stale' THEN updated_at END,
    CASE WHEN status = 'deletion_failed' THEN updated_at END
  FROM input
  ON CONFLICT (sandbox_id) DO NOTHING
  RETURNING sandbox_id),
history AS (SELECT * FROM unnest($16::text[], $17::bigint[], $18::text[], $19::text[], $20::text[],
    $21::text[])
  WITH ORDINALITY AS h(sandbox_id, at, from_status, to_status, actor, reason, ord)),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT h.sandbox_id, h.at, h.from_status, h.to_status, h.actor, h.reason
  FROM history h JOIN inserted i ON i.sandbox_id = h.sandbox_id
  ORDER BY h.ord)
SELECT count(*)
FROM inserted
