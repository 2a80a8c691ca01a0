-- The SQLite store's statements of the lifecycle jobs: sync, expiry, claimed and retried
-- deletion, stale and bulk removal, the history.
--
-- Without statistics SQLite prefers an equality on sandboxes_status_name (status=?) to a range
-- on a job's partial index, which means reading every row of that status and sorting them.
-- So each job's pick names its index (INDEXED BY, which also fails loudly should the index
-- go), and an outer UPDATE writes `+status` so it looks rows up by primary key instead.

-- name: expire
-- Expiry: allocations whose own expires_at (an extension moves it) is at or before ?1 (they
-- are expired now), earliest first, at most ?3. ?2 now. Status and expiry are repeated in the
-- UPDATE, so a row returned or extended meanwhile is left alone.
UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = ?2,
    next_attempt_at = NULL, updated_at = ?2, version = version + 1
WHERE +status = 'allocated' AND +expires_at <= ?1 AND sandbox_id IN (SELECT sandbox_id
  FROM sandboxes INDEXED BY sandboxes_allocated_expires
  WHERE status = 'allocated' AND expires_at <= ?1
  ORDER BY expires_at LIMIT ?3)
RETURNING sandbox_id

-- name: claimable_pending
-- Claimable returned sandboxes, oldest request first. ?1 now, ?2 limit.
SELECT sandbox_id
FROM sandboxes INDEXED BY sandboxes_pending_requested
WHERE status = 'pending_deletion' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
AND claim_until <= ?1
ORDER BY deletion_requested_at LIMIT ?2

-- name: claimable_failed
-- Claimable failed deletions whose slow retry is due, longest waiting first. ?1 now, ?2 limit.
SELECT sandbox_id
FROM sandboxes INDEXED BY sandboxes_failed_next_attempt
WHERE status = 'deletion_failed' AND next_attempt_at <= ?1 AND claim_until <= ?1
ORDER BY next_attempt_at LIMIT ?2

-- name: claim
-- ?1 id, ?2 worker, ?3 claim until, ?4 now.
UPDATE sandboxes SET claim_owner = ?2, claim_until = ?3, updated_at = ?4, version = version + 1
WHERE sandbox_id = ?1 AND status IN ('pending_deletion', 'deletion_failed')
AND claim_until <= ?4

-- name: renew_claim
-- The claimant's heartbeat. ?1 id, ?2 worker, ?3 claim until. No version bump: the claim is
-- bookkeeping, the sandbox does not change.
UPDATE sandboxes SET claim_until = ?3
WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')

-- name: release_claim
-- A run that stops early gives its claims back. ?1 id, ?2 worker.
UPDATE sandboxes SET claim_owner = '', claim_until = 0
WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')

-- name: deletion_state
SELECT status, claim_owner, deletion_retry_count
FROM sandboxes
WHERE sandbox_id = ?1

-- name: record_deleted
-- ?1 id, ?2 now.
UPDATE sandboxes SET status = 'deleted', claim_owner = '', claim_until = 0, next_attempt_at = NULL,
    last_error = '', updated_at = ?2, version = version + 1
WHERE sandbox_id = ?1 AND status IN ('pending_deletion', 'deletion_failed')

-- name: record_failure
-- ?1 id, ?2 worker, ?3 now, ?4 new status, ?5 retry count, ?6 next attempt, ?7 error.
UPDATE sandboxes SET status = ?4, deletion_retry_count = ?5, next_attempt_at = ?6, last_error = ?7,
    claim_owner = '', claim_until = 0, updated_at = ?3, version = version + 1
WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')

-- name: remove_stale
-- Stale since before ?1.
DELETE
FROM sandboxes INDEXED BY sandboxes_stale_since
WHERE status = 'stale' AND stale_since < ?1
RETURNING sandbox_id

-- name: bulk_remove
DELETE
FROM sandboxes
WHERE status = ?1
RETURNING sandbox_id

-- name: remove_stale_chunk
-- The bounded chunks of the large writes: each removes (or marks) at most ?2 rows, and the
-- store repeats it, one transaction per chunk, until less than that is left.
DELETE
FROM sandboxes
WHERE sandbox_id IN (SELECT sandbox_id FROM sandboxes INDEXED BY sandboxes_stale_since
  WHERE status = 'stale' AND stale_since < ?1 LIMIT ?2)
RETURNING sandbox_id

-- name: bulk_remove_chunk
DELETE
FROM sandboxes
WHERE sandbox_id IN (SELECT sandbox_id FROM sandboxes
  WHERE status = ?1 LIMIT ?2)
RETURNING sandbox_id

-- name: prune_history_chunk
DELETE
FROM sandbox_events
WHERE id IN (SELECT id FROM sandbox_events
  WHERE at < ?1 LIMIT ?2)

-- name: stamp_sync_pass
-- A part of a sync: its listed sandboxes carry the pass. ?1 pass, ?2 JSON array of
-- the part's ids.
UPDATE sandboxes SET sync_pass = ?1 WHERE sandbox_id IN (SELECT value FROM json_each(?2))

-- name: unstamped_available
-- The end of a sync, read on a reader connection a page at a time (walking every available row
-- must hold neither the writer nor one snapshot, nor every id at once): the available
-- sandboxes no part of the pass ?1 listed, in name order after (?2 name, ?3 id), at most ?4
-- (-1: all). Returns each one's name and id.
SELECT name, sandbox_id
FROM sandboxes
WHERE status = 'available' AND (name, sandbox_id) > (?2, ?3) AND (sync_pass IS NULL OR sync_pass <> ?1)
ORDER BY name, sandbox_id
LIMIT ?4

-- name: mark_unstamped_stale
-- Then, on the writer, some of them (?3, a JSON array of ids) become stale, each only if it is
-- still available and still not listed by the pass ?1. ?2 now.
UPDATE sandboxes SET status = 'stale', stale_since = ?2, updated_at = ?2, version = version + 1
WHERE sandbox_id IN (SELECT value FROM json_each(?3)) AND +status = 'available'
AND (sync_pass IS NULL OR sync_pass <> ?1)
RETURNING sandbox_id

-- name: insert_removal_event
INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason)
VALUES (?1, ?2, ?3, NULL, ?4, ?5)

-- name: history
SELECT id, sandbox_id, at, from_status, to_status, actor, reason
FROM sandbox_events
WHERE sandbox_id = ?1
ORDER BY id

-- name: prune_history
DELETE
FROM sandbox_events
WHERE at < ?1

-- name: sync_status
-- The provider sync (upsert_provider_sandboxes): a listed sandbox's status, if it is known.
-- ?1 sandbox id.
SELECT status FROM sandboxes WHERE sandbox_id = ?1

-- name: sync_insert
-- A sandbox the provider lists for the first time. ?1 id, ?2 name, ?3 external id, ?4 SFDC
-- account id, ?5 now.
INSERT INTO sandboxes (sandbox_id, name, external_id, sfdc_account_id, status, created_at, updated_at,
    last_seen_at)
VALUES (?1, ?2, ?3, ?4, 'available', ?5, ?5, ?5)

-- name: sync_revive
-- A stale sandbox the provider lists again: available once more. Parameters as sync_insert.
UPDATE sandboxes SET status = 'available', stale_since = NULL, name = ?2, external_id = ?3,
    sfdc_account_id = ?4, last_seen_at = ?5, updated_at = ?5, version = version + 1
WHERE sandbox_id = ?1 AND status = 'stale'

-- name: sync_refresh
-- An available sandbox listed again. Version and updated_at move only when a provider field
-- really changed, so a sync that finds nothing new leaves compare-and-set tokens alone.
-- Parameters as sync_insert.
UPDATE sandboxes SET
    version = version + (name <> ?2 OR external_id <> ?3 OR sfdc_account_id <> ?4),
    updated_at = CASE WHEN name <> ?2 OR external_id <> ?3 OR sfdc_account_id <> ?4 THEN ?5 ELSE updated_at END,
    name = ?2, external_id = ?3, sfdc_account_id = ?4, last_seen_at = ?5
WHERE sandbox_id = ?1 AND status = 'available'

-- name: sync_seen
-- Held, being deleted or deleted: only note that the provider still lists it. ?1 id, ?2 now.
UPDATE sandboxes SET last_seen_at = ?2 WHERE sandbox_id = ?1
