-- The PostgreSQL store's statements of allocation, return, extension and listing, prepared
-- once per connection under their names (see cmake/EmbedSql.cmake for the convention). Writes
-- that change a sandbox are single statements whose data-modifying CTEs also record the
-- transition in sandbox_events, so the change and its history commit together in one round
-- trip. Every statement that returns sandboxes lists the columns read_sandbox (pg_sql.hpp)
-- reads, in its order (the allocation statements after their `taken` flag).

-- name: allocate_from
-- Allocation in one statement: what the participant holds; unless that already decides the
-- answer (a holding under the same key, or the participant at its limit), the first available
-- sandbox by name that no concurrent allocation has locked (SKIP LOCKED: callers spread over
-- the index instead of queueing on one row), taken in the participant's lowest free slot. The
-- partial unique indexes on allocated (participant, key) and (participant, slot) stop a racing
-- twin; the store then runs the statement again and decides on what the winner left.
-- $1 participant, $2 track, $3 key, $4 now, $5 expires_at, $6 limit, $7 prefix, $8 upper bound
-- (allocate_from: names from $7 on, $8 empty: without a prefix $7 is '', which every name
-- follows; allocate_range: [$7, $8)). Two statements, not one with an optional bound: an
-- optional `name < $8` would be a filter instead of the end of the index range, and a prefix
-- with nothing available would read every available name after it.
-- Result: taken (bool), then the sandbox columns: the sandbox taken, or every holding when
-- the holdings decide (decide_allocation picks the answer).
-- The plain statements take nothing while a rule may apply (a limit on the request's track,
-- or a reservation with something outstanding in its window): then the store decides under
-- its quota lock (quota_ops.cpp) with the allocate_quota_* statements, which skip the name
-- prefixes held back for other tracks (a text[] parameter, $9).
-- The participant's holdings (`held`, and the holdings statement) are read in the order of
-- the index sandboxes_allocated_participant_slot. The order is not needed; it makes that
-- index the plan's choice even when the statistics say no sandbox is allocated (right after
-- an import, until the next ANALYZE): the partial indexes on allocated rows then all look
-- empty and equally cheap, and without an order PostgreSQL took sandboxes_allocated_track,
-- which has no participant column, so every allocation read every allocated row.
WITH held AS (SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version, participant_slot
  FROM sandboxes
  WHERE allocated_to_track = $1 AND status = 'allocated'
  ORDER BY allocated_to_track, participant_slot),
decided AS (SELECT 1 FROM held
  WHERE idempotency_key = $3 OR (SELECT count(*) FROM held) >= $6),
slot AS (SELECT min(g) AS n FROM generate_series(0, $6::integer - 1) AS g
  WHERE NOT EXISTS (SELECT 1 FROM held WHERE participant_slot = g)),
pick AS (SELECT sandbox_id FROM sandboxes
  WHERE status = 'available' AND name >= $7 AND $8::text = ''
  AND NOT EXISTS (SELECT 1 FROM decided) AND NOT EXISTS (SELECT 1 FROM track_limits WHERE track = $2)
  AND NOT EXISTS (SELECT 1 FROM reservations WHERE starts_at <= $4 AND ends_at > $4 AND used < count)
  ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED),
taken AS (UPDATE sandboxes s SET status = 'allocated', allocated_to_track = $1, track_name = $2,
    idempotency_key = $3, allocated_at = $4, expires_at = $5, deletion_requested_at = NULL,
    participant_slot = (SELECT n FROM slot), version = s.version + 1, updated_at = $4
  FROM pick
  WHERE s.sandbox_id = pick.sandbox_id AND s.status = 'available'
  RETURNING s.*),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $4, 'available', 'allocated', $1, 'allocate'
  FROM taken)
SELECT true, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM taken
UNION ALL
SELECT false, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM held
WHERE EXISTS (SELECT 1 FROM decided)

-- name: allocate_range
WITH held AS (SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version, participant_slot
  FROM sandboxes
  WHERE allocated_to_track = $1 AND status = 'allocated'
  ORDER BY allocated_to_track, participant_slot),
decided AS (SELECT 1 FROM held
  WHERE idempotency_key = $3 OR (SELECT count(*) FROM held) >= $6),
slot AS (SELECT min(g) AS n FROM generate_series(0, $6::integer - 1) AS g
  WHERE NOT EXISTS (SELECT 1 FROM held WHERE participant_slot = g)),
pick AS (SELECT sandbox_id FROM sandboxes
  WHERE status = 'available' AND name >= $7 AND name < $8
  AND NOT EXISTS (SELECT 1 FROM decided) AND NOT EXISTS (SELECT 1 FROM track_limits WHERE track = $2)
  AND NOT EXISTS (SELECT 1 FROM reservations WHERE starts_at <= $4 AND ends_at > $4 AND used < count)
  ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED),
taken AS (UPDATE sandboxes s SET status = 'allocated', allocated_to_track = $1, track_name = $2,
    idempotency_key = $3, allocated_at = $4, expires_at = $5, deletion_requested_at = NULL,
    participant_slot = (SELECT n FROM slot), version = s.version + 1, updated_at = $4
  FROM pick
  WHERE s.sandbox_id = pick.sandbox_id AND s.status = 'available'
  RETURNING s.*),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $4, 'available', 'allocated', $1, 'allocate'
  FROM taken)
SELECT true, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM taken
UNION ALL
SELECT false, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM held
WHERE EXISTS (SELECT 1 FROM decided)

-- name: allocate_quota_from
WITH held AS (SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version, participant_slot
  FROM sandboxes
  WHERE allocated_to_track = $1 AND status = 'allocated'
  ORDER BY allocated_to_track, participant_slot),
decided AS (SELECT 1 FROM held
  WHERE idempotency_key = $3 OR (SELECT count(*) FROM held) >= $6),
slot AS (SELECT min(g) AS n FROM generate_series(0, $6::integer - 1) AS g
  WHERE NOT EXISTS (SELECT 1 FROM held WHERE participant_slot = g)),
pick AS (SELECT sandbox_id FROM sandboxes
  WHERE status = 'available' AND name >= $7 AND $8::text = ''
  AND NOT EXISTS (SELECT 1 FROM decided) AND NOT EXISTS (SELECT 1 FROM unnest($9::text[]) AS b(p) WHERE left(name, length(b.p)) = b.p)
  ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED),
taken AS (UPDATE sandboxes s SET status = 'allocated', allocated_to_track = $1, track_name = $2,
    idempotency_key = $3, allocated_at = $4, expires_at = $5, deletion_requested_at = NULL,
    participant_slot = (SELECT n FROM slot), version = s.version + 1, updated_at = $4
  FROM pick
  WHERE s.sandbox_id = pick.sandbox_id AND s.status = 'available'
  RETURNING s.*),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $4, 'available', 'allocated', $1, 'allocate'
  FROM taken)
SELECT true, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM taken
UNION ALL
SELECT false, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM held
WHERE EXISTS (SELECT 1 FROM decided)

-- name: allocate_quota_range
WITH held AS (SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version, participant_slot
  FROM sandboxes
  WHERE allocated_to_track = $1 AND status = 'allocated'
  ORDER BY allocated_to_track, participant_slot),
decided AS (SELECT 1 FROM held
  WHERE idempotency_key = $3 OR (SELECT count(*) FROM held) >= $6),
slot AS (SELECT min(g) AS n FROM generate_series(0, $6::integer - 1) AS g
  WHERE NOT EXISTS (SELECT 1 FROM held WHERE participant_slot = g)),
pick AS (SELECT sandbox_id FROM sandboxes
  WHERE status = 'available' AND name >= $7 AND name < $8
  AND NOT EXISTS (SELECT 1 FROM decided) AND NOT EXISTS (SELECT 1 FROM unnest($9::text[]) AS b(p) WHERE left(name, length(b.p)) = b.p)
  ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED),
taken AS (UPDATE sandboxes s SET status = 'allocated', allocated_to_track = $1, track_name = $2,
    idempotency_key = $3, allocated_at = $4, expires_at = $5, deletion_requested_at = NULL,
    participant_slot = (SELECT n FROM slot), version = s.version + 1, updated_at = $4
  FROM pick
  WHERE s.sandbox_id = pick.sandbox_id AND s.status = 'available'
  RETURNING s.*),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $4, 'available', 'allocated', $1, 'allocate'
  FROM taken)
SELECT true, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM taken
UNION ALL
SELECT false, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM held
WHERE EXISTS (SELECT 1 FROM decided)

-- name: quota_applies
SELECT EXISTS (SELECT 1 FROM track_limits
  WHERE track = $1) OR EXISTS (SELECT 1 FROM reservations
  WHERE starts_at <= $2 AND ends_at > $2 AND used < count)

-- name: holdings
-- The participant's holdings, in the allocation statements' shape (taken = false). $1 participant.
SELECT false, sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version
FROM sandboxes
WHERE allocated_to_track = $1 AND status = 'allocated'
ORDER BY allocated_to_track, participant_slot

-- name: prefix_known_range
-- Whether any sandbox of the pool (every status but deleted) has a name in the prefix's
-- range: asked only when allocation found nothing available. $1 prefix, $2 upper bound
-- (prefix_known_from: $2 empty, no bound).
SELECT EXISTS (SELECT 1 FROM sandboxes
  WHERE status IN ('available', 'allocated', 'pending_deletion', 'stale',
      'deletion_failed') AND name >= $1 AND name < $2)

-- name: prefix_known_from
SELECT EXISTS (SELECT 1 FROM sandboxes
  WHERE status IN ('available', 'allocated', 'pending_deletion', 'stale',
      'deletion_failed') AND name >= $1 AND $2::text = '')

-- name: find_by_id
-- $1 sandbox id.
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id = $1

-- name: find_by_id_for_update
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id = $1 FOR UPDATE

-- name: mark_at_version
-- $1 id, $2 participant, $3 now, $4 the version the decision was made on. Run without a row
-- lock, in autocommit (or, after a concurrent change, under the row lock): it changes the
-- row only if nothing changed it since it was read (every change of a sandbox's status or
-- owner raises its version) and the participant still holds it. The version stands for the
-- status the decision saw; naming the status here too would let the planner take one of the
-- partial indexes on allocated rows for this one-row update, and while the statistics say
-- nothing is allocated (after an import) it did, reading every allocated row on each mark.
-- The owner is named (no index on it is usable without the status): the owner check does
-- not rest on the version rule alone.
WITH marked AS (UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = $3,
    version = version + 1, updated_at = $3
  WHERE sandbox_id = $1 AND allocated_to_track = $2 AND version = $4
  RETURNING *),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $3, 'allocated', 'pending_deletion', $2, 'mark-for-deletion'
  FROM marked)
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM marked

-- name: extend
-- $1 id, $2 participant, $3 expires_at read, $4 version read, $5 new expires_at, $6 now, $7 the
-- history reason. Run after the row was locked and checked. The status is not named: the
-- version read stands for it, and naming it let the planner take a partial index on
-- allocated rows instead of the key (see mark_at_version).
WITH moved AS (UPDATE sandboxes SET expires_at = $5, version = version + 1, updated_at = $6
  WHERE sandbox_id = $1 AND allocated_to_track = $2 AND expires_at = $3 AND version = $4
  RETURNING *),
event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor,
    reason) SELECT sandbox_id, $6, 'allocated', 'allocated', $2, $7
  FROM moved)
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM moved

-- name: read_pool_counts
-- The counts by status the triggers of schema step pool_counts keep: 96 rows (16 slots a status), whatever the
-- pool's size, never a count over the sandboxes.
SELECT status, sum(n)::bigint FROM pool_counts GROUP BY status

-- name: list_all
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > $1 AND status <> 'deleted'
ORDER BY sandbox_id LIMIT $2

-- name: list_by_status
SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
    idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
    created_at, updated_at, version
FROM sandboxes
WHERE sandbox_id > $1 AND status = $3
ORDER BY sandbox_id LIMIT $2

-- name: ping
-- Touches the sandboxes table: a database that answers but was never migrated is not ready.
SELECT 1
FROM sandboxes LIMIT 1
