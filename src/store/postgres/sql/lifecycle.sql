-- The PostgreSQL store's statements of the lifecycle jobs: sync's upsert, expiry, claimed and
-- retried deletion, stale and bulk removal, the history.

-- name: upsert
-- Sync's upsert in one statement. The provider list comes as four text[] parameters ($1 ids,
-- $2 names, $3 external ids, $4 sfdc ids; $5 now); a repeated id counts once with its last
-- fields. Unchanged available sandboxes are not written at all: an UPDATE would lock them
-- until commit, and allocations (SKIP LOCKED) would skip the whole pool during a sync.
-- Result: inserted, revived, refreshed, skipped.
WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
  WITH ORDINALITY AS u(sandbox_id, name, external_id, sfdc_account_id, ord)),
listed AS (SELECT DISTINCT ON (sandbox_id) sandbox_id COLLATE "C" AS sandbox_id, name, external_id,
    sfdc_account_id, count(*) OVER (PARTITION BY sandbox_id) - 1 AS repeats
  FROM input
  ORDER BY sandbox_id, ord DESC),
known AS (SELECT l.sandbox_id, l.repeats,
    s.status FROM listed l JOIN sandboxes s USING (sandbox_id)),
inserted AS (INSERT INTO sandboxes (sandbox_id, name, external_id, sfdc_account_id, status,
    created_at, updated_at, last_seen_at) SELECT sandbox_id, name, external_id, sfdc_account_id,
    'available', $5::bigint, $5, $5
  FROM listed
  WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.sandbox_id = listed.sandbox_id)
  ON CONFLICT (sandbox_id) DO NOTHING
  RETURNING sandbox_id),
revived AS (UPDATE sandboxes s SET status = 'available', stale_since = NULL, name = l.name,
    external_id = l.external_id, sfdc_account_id = l.sfdc_account_id, last_seen_at = $5,
    updated_at = $5, version = s.version + 1
  FROM listed l
  WHERE s.sandbox_id = l.sandbox_id AND s.status = 'stale'
  RETURNING s.sandbox_id),
refreshed AS (UPDATE sandboxes s SET name = l.name, external_id = l.external_id,
    sfdc_account_id = l.sfdc_account_id, last_seen_at = $5, updated_at = $5, version = s.version + 1
  FROM listed l
  WHERE s.sandbox_id = l.sandbox_id AND s.status = 'available' AND (s.name, s.external_id,
      s.sfdc_account_id) IS DISTINCT FROM (l.name, l.external_id, l.sfdc_account_id)
  RETURNING s.sandbox_id),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $5, NULL, 'available', 'sync', 'listed by provider'
  FROM inserted
  UNION ALL SELECT sandbox_id, $5, 'stale', 'available', 'sync', 'listed by provider again'
  FROM revived)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM revived), (SELECT count(*)
  FROM known
  WHERE status = 'available'), (SELECT count(*) FROM known
  WHERE status NOT IN ('available', 'stale')), (SELECT coalesce(sum(repeats), 0)
  FROM listed l
  WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.sandbox_id = l.sandbox_id AND k.status NOT IN ('available', 'stale'))), (SELECT coalesce(sum(repeats), 0)
  FROM known
  WHERE status NOT IN ('available', 'stale'))

-- name: sync_list_part
-- A part of a sync: its ids recorded as listed by the pass. $1 pass, $2 ids (text[]),
-- $3 now.
INSERT INTO sync_listed (pass, sandbox_id, listed_at)
SELECT $1::bigint, unnest($2::text[]) COLLATE "C", $3::bigint
ON CONFLICT DO NOTHING

-- name: mark_unlisted_by_pass
-- The end of a sync: available sandboxes the pass did not list become stale. $1 pass,
-- $2 now. Result: how many became stale.
WITH gone AS (UPDATE sandboxes s SET status = 'stale', stale_since = $2, updated_at = $2,
    version = s.version + 1
  WHERE s.status = 'available' AND NOT EXISTS (SELECT 1 FROM sync_listed l
    WHERE l.pass = $1 AND l.sandbox_id = s.sandbox_id)
  RETURNING s.sandbox_id),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $2, 'available', 'stale', 'sync', 'not listed by provider'
  FROM gone)
SELECT count(*)
FROM gone

-- name: forget_sync_pass
-- The pass's listed ids, and those of passes begun before $2 that never ended. $1 pass.
DELETE FROM sync_listed
WHERE pass = $1 OR listed_at < $2

-- name: expire
-- $1 now, $2 expires_at at or before this is expired (the row's own: an extension moves it),
-- $3 limit. A row an extension holds locked is skipped; one extended meanwhile fails the
-- repeated condition.
WITH due AS (SELECT sandbox_id FROM sandboxes
  WHERE status = 'allocated' AND expires_at <= $2
  ORDER BY expires_at, sandbox_id LIMIT $3 FOR UPDATE SKIP LOCKED),
moved AS (UPDATE sandboxes s SET status = 'pending_deletion', deletion_requested_at = $1,
    next_deletion_at = NULL, version = s.version + 1, updated_at = $1
  FROM due
  WHERE s.sandbox_id = due.sandbox_id AND s.status = 'allocated' AND s.expires_at <= $2
  RETURNING s.*),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $1, 'allocated', 'pending_deletion', 'auto_expiry',
    'lease expired (lab duration + grace)'
  FROM moved)
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM moved
ORDER BY expires_at, sandbox_id

-- name: claim
-- $1 worker, $2 now, $3 lease until, $4 limit. Returned sandboxes first (oldest request
-- first); failed ones whose slow retry is due fill what is left (longest waiting first).
-- Each side is an index range of its own partial index, locked with SKIP LOCKED so two
-- claimers never wait for or share a row.
WITH pending AS (SELECT sandbox_id, 0 AS kind, deletion_requested_at AS due_at
  FROM sandboxes
  WHERE status = 'pending_deletion' AND (next_deletion_at IS NULL OR next_deletion_at <= $2) AND deletion_claim_until <= $2
  ORDER BY deletion_requested_at, sandbox_id LIMIT $4 FOR UPDATE SKIP LOCKED),
failed AS (SELECT sandbox_id, 1 AS kind, next_deletion_at AS due_at
  FROM sandboxes
  WHERE status = 'deletion_failed' AND next_deletion_at <= $2 AND deletion_claim_until <= $2
  ORDER BY next_deletion_at, sandbox_id LIMIT $4 FOR UPDATE SKIP LOCKED),
due AS (SELECT * FROM pending
  UNION ALL SELECT * FROM failed
  ORDER BY kind, due_at, sandbox_id LIMIT $4),
claimed AS (UPDATE sandboxes s SET deletion_claimed_by = $1, deletion_claim_until = $3,
    updated_at = $2, version = s.version + 1
  FROM due
  WHERE s.sandbox_id = due.sandbox_id AND s.status IN ('pending_deletion', 'deletion_failed')
  RETURNING s.*, due.kind, due.due_at)
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM claimed
ORDER BY kind, due_at, sandbox_id

-- name: renew_claims
-- $1 ids (text[]), $2 worker, $3 claim until.
UPDATE sandboxes SET deletion_claim_until = $3
WHERE sandbox_id = ANY($1::text[]) AND deletion_claimed_by = $2 AND status IN ('pending_deletion',
    'deletion_failed')

-- name: release_claims
-- $1 ids (text[]), $2 worker.
UPDATE sandboxes SET deletion_claimed_by = '', deletion_claim_until = 0
WHERE sandbox_id = ANY($1::text[]) AND deletion_claimed_by = $2 AND status IN ('pending_deletion',
    'deletion_failed')

-- name: record_deleted
-- $1 id, $2 actor, $3 now, $4 reason. Result: one row when the sandbox moved to deleted.
WITH old AS (SELECT sandbox_id, status FROM sandboxes
  WHERE sandbox_id = $1 AND status IN ('pending_deletion', 'deletion_failed') FOR UPDATE),
moved AS (UPDATE sandboxes s SET status = 'deleted', deletion_claimed_by = '',
    deletion_claim_until = 0, next_deletion_at = NULL, last_deletion_error = '',
    version = s.version + 1, updated_at = $3
  FROM old
  WHERE s.sandbox_id = old.sandbox_id
  RETURNING s.sandbox_id, old.status AS from_status),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $3::bigint, from_status, 'deleted', $2::text, $4::text
  FROM moved)
SELECT sandbox_id
FROM moved

-- name: record_failure
-- $1 id, $2 worker, $3 now, $4 next attempt at, $5 max attempts, $6 reason.
WITH old AS (SELECT sandbox_id, status, deletion_retry_count
  FROM sandboxes
  WHERE sandbox_id = $1 AND status IN ('pending_deletion',
      'deletion_failed') AND deletion_claimed_by = $2 FOR UPDATE),
moved AS (UPDATE sandboxes s SET deletion_retry_count = old.deletion_retry_count + 1,
    status = CASE WHEN old.deletion_retry_count + 1 >= $5 THEN 'deletion_failed' ELSE old.status END, next_deletion_at = $4, deletion_claimed_by = '', deletion_claim_until = 0, last_deletion_error = $6, version = s.version + 1, updated_at = $3
  FROM old
  WHERE s.sandbox_id = old.sandbox_id
  RETURNING s.sandbox_id, old.status AS from_status, s.status AS to_status, s.deletion_retry_count),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $3, from_status, to_status, 'cleanup',
    'attempt ' || deletion_retry_count || ' failed (' || $2 || '): ' || $6
  FROM moved
  WHERE from_status <> to_status)
SELECT sandbox_id
FROM moved

-- name: remove_stale
-- $1 stale before, $2 now, $3 actor.
WITH gone AS (DELETE FROM sandboxes
  WHERE status = 'stale' AND stale_since < $1
  RETURNING sandbox_id),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $2::bigint, 'stale', NULL, $3::text, 'stale past the grace period'
  FROM gone)
SELECT count(*)
FROM gone

-- name: bulk_remove
-- $1 status, $2 now, $3 actor.
WITH gone AS (DELETE FROM sandboxes
  WHERE status = $1
  RETURNING sandbox_id, status),
events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $2::bigint, status, NULL, $3::text, 'bulk remove'
  FROM gone)
SELECT count(*)
FROM gone

-- name: history
-- $1 sandbox id.
SELECT id, sandbox_id, at, from_status, to_status, actor, reason
FROM sandbox_events
WHERE sandbox_id = $1
ORDER BY id

-- name: prune_history
DELETE
FROM sandbox_events
WHERE at < $1
