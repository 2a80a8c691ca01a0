-- The SQLite store's statements of allocation, return, extension, listing and the history
-- each change records (see cmake/EmbedSql.cmake for the convention). Every statement that
-- returns sandboxes lists the columns read_sandbox (sandbox_sql.hpp) reads, in its order.

-- name: pick_available
-- Allocation picks the first available sandbox by name straight from the (status, name)
-- index; with a prefix (pick_available_prefix) the pick is an index range [prefix, upper
-- bound): ?1 prefix, ?2 upper bound; pick_available_from_prefix is for a prefix without an
-- upper bound (every byte 0xFF). The pick reads the whole row, so allocate_by_id needs no
-- RETURNING (which would fill an ephemeral table on every allocation): the writer knows what
-- it wrote.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available'
ORDER BY name LIMIT 1

-- name: pick_available_prefix
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available' AND name >= ?1 AND name < ?2
ORDER BY name LIMIT 1

-- name: pick_available_from_prefix
-- For a prefix without an upper bound (every byte 0xFF): everything from the prefix on.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available' AND name >= ?1
ORDER BY name LIMIT 1

-- name: allocate_by_id
-- Takes the picked sandbox, by primary key, still only if it is available. ?1 sandbox id,
-- ?2 participant, ?3 track name, ?4 idempotency key, ?5 now, ?6 expires_at.
-- OR FAIL (here, in mark and in extend): a one-row UPDATE whose constraints fail stops before
-- it writes anything, and the writer undoes the whole op anyway, so SQLite need not keep a
-- statement journal: with the default (ABORT) it copied every page the UPDATE touched (the
-- row, six indexes, the pool_counts trigger's rows) into one, on every allocation.
UPDATE OR FAIL sandboxes SET status = 'allocated', allocated_to_track = ?2, track_name = ?3,
    idempotency_key = ?4, allocated_at = ?5, expires_at = ?6, deletion_requested_at = NULL,
    version = version + 1, updated_at = ?5
WHERE sandbox_id = ?1 AND status = 'available'

-- name: holdings
-- Everything the participant holds, answered from the partial unique index on allocated
-- (participant, key). ?1 participant.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE allocated_to_track = ?1 AND status = 'allocated'

-- name: prefix_known
-- Whether any sandbox of the pool (every status but deleted) has a name in the prefix's
-- range: asked only when allocation found nothing available. One (status, name) index range
-- per status. ?1 prefix, ?2 upper bound (prefix_known_from: none).
SELECT 1
FROM sandboxes
WHERE status IN ('available', 'allocated', 'pending_deletion', 'stale', 'deletion_failed')
AND name >= ?1 AND name < ?2 LIMIT 1

-- name: prefix_known_from
SELECT 1
FROM sandboxes
WHERE status IN ('available', 'allocated', 'pending_deletion', 'stale', 'deletion_failed')
AND name >= ?1 LIMIT 1

-- name: find_by_id
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id = ?1

-- name: mark
-- ?1 id, ?2 participant, ?3 now. No RETURNING (it fills an ephemeral table on every call):
-- the op read the row in the same transaction and knows what it wrote.
UPDATE OR FAIL sandboxes SET status = 'pending_deletion', deletion_requested_at = ?3,
    version = version + 1, updated_at = ?3
WHERE sandbox_id = ?1 AND status = 'allocated' AND allocated_to_track = ?2

-- name: extend
-- ?1 id, ?2 participant, ?3 expires_at read, ?4 version read, ?5 new expires_at, ?6 now. No
-- RETURNING, as with mark: the op holds the row it read and changes its copy as this does.
UPDATE OR FAIL sandboxes SET expires_at = ?5, version = version + 1, updated_at = ?6
WHERE sandbox_id = ?1 AND status = 'allocated' AND allocated_to_track = ?2
AND expires_at = ?3 AND version = ?4

-- name: insert_event
INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)

-- name: read_pool_counts
-- The counts by status the triggers of schema step pool_counts keep: six rows, whatever the
-- pool's size, never a count over the sandboxes.
SELECT status, n FROM pool_counts

-- name: list_all
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > ?1 AND status <> 'deleted'
ORDER BY sandbox_id LIMIT ?2

-- name: list_by_status
-- A page of one status walks the primary key from the cursor (`+status` keeps SQLite off the
-- (status, name) index, which would read and sort every row of the status for each page):
-- listing a whole status reads the table about once, however many pages it takes.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > ?1 AND +status = ?3
ORDER BY sandbox_id LIMIT ?2

-- name: pick_unreserved
-- The picks above under reservations: ?3 is a JSON array of name prefixes whose sandboxes
-- other tracks' reservations hold back (quota_ops), skipped in the index walk.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available' AND NOT EXISTS (SELECT 1 FROM json_each(?3) b
  WHERE substr(name, 1, length(b.value)) = b.value)
ORDER BY name LIMIT 1

-- name: pick_unreserved_prefix
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available' AND name >= ?1 AND name < ?2
AND NOT EXISTS (SELECT 1 FROM json_each(?3) b
  WHERE substr(name, 1, length(b.value)) = b.value)
ORDER BY name LIMIT 1

-- name: pick_unreserved_from_prefix
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE status = 'available' AND name >= ?1 AND NOT EXISTS (SELECT 1
  FROM json_each(?3) b
  WHERE substr(name, 1, length(b.value)) = b.value)
ORDER BY name LIMIT 1

-- name: ping
-- Touches the sandboxes table: a file that opens but was never migrated is not ready.
SELECT 1 FROM sandboxes LIMIT 1
