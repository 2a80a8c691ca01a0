-- The SQLite store's reservations and track limits (quota_ops.cpp). Every statement that
-- returns reservations returns their columns in the order read_reservation reads them: id,
-- track, name_prefix, count, used, starts_at, ends_at, created_at.

-- name: all_reservations
-- Every reservation, for the cache that says whether any quota rule applies.
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at FROM reservations

-- name: limited_tracks
SELECT track FROM track_limits

-- name: track_limit
-- ?1 track.
SELECT max_active FROM track_limits WHERE track = ?1

-- name: active_of_track
-- What a track holds and has not expired. ?1 track, ?2 now.
SELECT count(*) FROM sandboxes WHERE status = 'allocated' AND track_name = ?1 AND expires_at > ?2

-- name: active_reservations
-- The reservations in force with sandboxes still held back. ?1 now.
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at
FROM reservations WHERE starts_at <= ?1 AND ends_at > ?1 AND used < count

-- name: available_at_most
-- How many are available, reading at most ?3 index entries whatever the pool's size.
SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' LIMIT ?3)

-- name: available_at_most_from
-- The same among names from ?1 on (a prefix without an upper bound). ?3 at most.
SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' AND name >= ?1 LIMIT ?3)

-- name: available_at_most_range
-- The same among names from ?1 up to ?2 excluded (a prefix's range). ?3 at most.
SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available' AND name >= ?1 AND name < ?2 LIMIT ?3)

-- name: charge_reservation
-- ?1 reservation id.
UPDATE reservations SET used = used + 1 WHERE id = ?1 AND used < count

-- name: count_available
SELECT count(*) FROM sandboxes WHERE status = 'available'

-- name: count_available_from
-- ?1 the prefix (no upper bound).
SELECT count(*) FROM sandboxes WHERE status = 'available' AND name >= ?1

-- name: count_available_range
-- ?1 the prefix, ?2 its upper bound (excluded).
SELECT count(*) FROM sandboxes WHERE status = 'available' AND name >= ?1 AND name < ?2

-- name: insert_reservation
-- ?1 id, ?2 track, ?3 name_prefix, ?4 count, ?5 starts_at, ?6 ends_at, ?7 created_at.
INSERT INTO reservations (id, track, name_prefix, count, used, starts_at, ends_at, created_at)
VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)

-- name: list_reservations
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at
FROM reservations ORDER BY starts_at, id

-- name: get_reservation
-- ?1 id.
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at FROM reservations WHERE id = ?1

-- name: delete_reservation
-- ?1 id.
DELETE FROM reservations WHERE id = ?1

-- name: set_track_limit
-- ?1 track, ?2 max_active.
INSERT INTO track_limits (track, max_active) VALUES (?1, ?2)
ON CONFLICT (track) DO UPDATE SET max_active = excluded.max_active

-- name: delete_track_limit
-- ?1 track.
DELETE FROM track_limits WHERE track = ?1

-- name: list_track_limits
SELECT track, max_active FROM track_limits ORDER BY track
