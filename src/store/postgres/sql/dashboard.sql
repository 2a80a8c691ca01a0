-- The PostgreSQL store's statements of the dashboard's reads and the pool's time series. They
-- run as plain statements (not prepared), so each is planned for the filters it is given.

-- name: scan_bound
-- The last id of the kSearchScanRows rows after the cursor (none when fewer remain): the end
-- of what one filtered page looks at. $1 cursor, $2 offset.
SELECT sandbox_id
FROM sandboxes
WHERE sandbox_id > $1
ORDER BY sandbox_id LIMIT 1 OFFSET $2

-- name: search
-- $1 cursor, $2 scan bound ('' = to the end; ids are never empty), $3 limit, $4 status ('' =
-- every status but deleted), $5 q, $6 track, $7 name prefix.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > $1 AND ($2 = '' OR sandbox_id <= $2) AND (CASE WHEN $4 = '' THEN status <> 'deleted' ELSE status = $4 END)
AND ($5 = '' OR sandbox_id = $5 OR allocated_to_track = $5 OR strpos(name, $5) > 0)
AND ($6 = '' OR track_name = $6) AND ($7 = '' OR starts_with(name, $7))
ORDER BY sandbox_id LIMIT $3

-- name: window
-- $1 since, $2 now, $3 recent since.
SELECT count(*), count(*) FILTER (WHERE status = 'allocated'), coalesce(sum(d), 0),
    coalesce(max(d), 0), coalesce(min(d), 0), count(*) FILTER (WHERE allocated_at >= $3::bigint)
FROM (SELECT status, allocated_at, greatest(0,
    CASE WHEN status = 'allocated' THEN $2::bigint ELSE deletion_requested_at END - allocated_at) AS d
  FROM sandboxes
  WHERE allocated_at >= $1::bigint AND allocated_at <= $2::bigint AND (status = 'allocated' OR deletion_requested_at IS NOT NULL)) w

-- name: tracks
-- $1 since, $2 now, $3 how many tracks.
SELECT track_name, count(*) FILTER (WHERE status = 'allocated'), count(*)
FROM sandboxes
WHERE allocated_at >= $1::bigint AND allocated_at <= $2::bigint AND (status = 'allocated' OR deletion_requested_at IS NOT NULL)
GROUP BY track_name
ORDER BY count(*) DESC, track_name COLLATE "C" LIMIT $3

-- name: allocated_between
SELECT count(*)
FROM sandboxes
WHERE allocated_at >= $1::bigint AND allocated_at < $2::bigint AND (status = 'allocated' OR deletion_requested_at IS NOT NULL)

-- name: backlog
-- The partial indexes on pending and failed rows bound it to the backlog. $1 now.
SELECT count(*) FILTER (WHERE status = 'pending_deletion'),
    count(*) FILTER (WHERE status = 'deletion_failed'),
    count(*) FILTER (WHERE deletion_claim_until > $1::bigint),
    count(*) FILTER (WHERE status = 'pending_deletion' AND deletion_retry_count > 0)
FROM sandboxes
WHERE status IN ('pending_deletion', 'deletion_failed')

-- name: failures
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version, last_deletion_error, next_deletion_at
FROM sandboxes
WHERE status IN ('pending_deletion', 'deletion_failed') AND deletion_retry_count > 0
ORDER BY next_deletion_at, sandbox_id LIMIT $1

-- name: record_sample
INSERT INTO pool_samples (at, available, allocated, pending_deletion, stale, deletion_failed,
    deleted, allocations)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (at) DO UPDATE SET available = excluded.available, allocated = excluded.allocated,
    pending_deletion = excluded.pending_deletion, stale = excluded.stale,
    deletion_failed = excluded.deletion_failed, deleted = excluded.deleted,
    allocations = excluded.allocations

-- name: samples
SELECT at, available, allocated, pending_deletion, stale, deletion_failed, deleted, allocations
FROM pool_samples
WHERE at >= $1::bigint AND at <= $2::bigint
ORDER BY at LIMIT $3

-- name: prune_samples
-- The samples older than $1.
DELETE FROM pool_samples WHERE at < $1::bigint
