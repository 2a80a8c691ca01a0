-- The SQLite store's statements of the dashboard's reads and the pool's time series.

-- name: scan_bound
-- The last id of the kSearchScanRows rows after the cursor (none when fewer remain): the end
-- of what one filtered page looks at. Walks the primary key only. ?1 cursor, ?2 offset.
SELECT sandbox_id
FROM sandboxes
WHERE sandbox_id > ?1
ORDER BY sandbox_id LIMIT 1 OFFSET ?2

-- name: search
-- ?1 cursor, ?2 scan bound (NULL: to the end), ?3 limit, ?4 status ('' = every status but
-- deleted), ?5 q, ?6 track, ?7 name prefix. Names compare as bytes (BLOB), as allocation's
-- prefix does.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > ?1 AND (?2 IS NULL OR sandbox_id <= ?2) AND (CASE WHEN ?4 = '' THEN +status <> 'deleted' ELSE +status = ?4 END)
AND (?5 = '' OR sandbox_id = ?5 OR allocated_to_track = ?5 OR instr(name, ?5) > 0)
AND (?6 = '' OR track_name = ?6) AND (?7 = '' OR substr(CAST(name AS BLOB), 1,
    length(CAST(?7 AS BLOB))) = CAST(?7 AS BLOB))
ORDER BY sandbox_id LIMIT ?3

-- name: window
-- ?1 since, ?2 now, ?3 recent since. Duration of a held one: until now; of a returned one:
-- until it was returned.
SELECT count(*), coalesce(sum(status = 'allocated'), 0), coalesce(sum(d), 0), coalesce(max(d), 0),
    coalesce(min(d), 0), coalesce(sum(allocated_at >= ?3), 0)
FROM (SELECT status, allocated_at, max(0,
    CASE WHEN status = 'allocated' THEN ?2 ELSE deletion_requested_at END - allocated_at) AS d
  FROM sandboxes
  WHERE allocated_at >= ?1 AND allocated_at <= ?2 AND (status = 'allocated' OR deletion_requested_at IS NOT NULL))

-- name: tracks
-- ?1 since, ?2 now, ?3 how many tracks.
SELECT track_name, sum(status = 'allocated'), count(*)
FROM sandboxes
WHERE allocated_at >= ?1 AND allocated_at <= ?2 AND (status = 'allocated' OR deletion_requested_at IS NOT NULL)
GROUP BY track_name
ORDER BY count(*) DESC, track_name LIMIT ?3

-- name: allocated_between
-- ?1 from, ?2 to (exclusive: the bound is the next minute's start).
SELECT count(*)
FROM sandboxes
WHERE allocated_at >= ?1 AND allocated_at < ?2 AND (status = 'allocated' OR deletion_requested_at IS NOT NULL)

-- name: backlog
-- The partial indexes on pending and failed rows bound it to the backlog. ?1 now.
SELECT coalesce(sum(status = 'pending_deletion'), 0), coalesce(sum(status = 'deletion_failed'), 0),
    coalesce(sum(claim_until > ?1), 0),
    coalesce(sum(status = 'pending_deletion' AND deletion_retry_count > 0), 0)
FROM sandboxes
WHERE status IN ('pending_deletion', 'deletion_failed')

-- name: failures
-- ?1 limit.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version, last_error, next_attempt_at
FROM sandboxes
WHERE status IN ('pending_deletion', 'deletion_failed') AND deletion_retry_count > 0
ORDER BY next_attempt_at IS NULL, next_attempt_at, sandbox_id
LIMIT ?1

-- name: record_sample
INSERT INTO pool_samples (at, available, allocated, pending_deletion, stale, deletion_failed,
    deleted, allocations)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
ON CONFLICT (at) DO UPDATE SET available = excluded.available, allocated = excluded.allocated,
    pending_deletion = excluded.pending_deletion, stale = excluded.stale,
    deletion_failed = excluded.deletion_failed, deleted = excluded.deleted,
    allocations = excluded.allocations

-- name: samples
SELECT at, available, allocated, pending_deletion, stale, deletion_failed, deleted, allocations
FROM pool_samples
WHERE at >= ?1 AND at <= ?2
ORDER BY at LIMIT ?3

-- name: prune_samples
DELETE
FROM pool_samples
WHERE at < ?1
