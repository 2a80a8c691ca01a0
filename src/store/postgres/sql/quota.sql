-- The PostgreSQL store's reservations and track limits (quota_ops.cpp). Every statement that
-- returns reservations returns their columns in the order read_reservation reads them: id,
-- track, name_prefix, count, used, starts_at, ends_at, created_at.

-- name: track_limit
-- $1 track.
SELECT max_active FROM track_limits WHERE track = $1

-- name: lock_track
-- A track's quota lock, held to the end of the transaction. $1 the lock class, $2 track (its
-- hash is the lock's object: a collision only makes two tracks wait for each other).
SELECT pg_advisory_xact_lock($1::integer, hashtext($2))

-- name: active_of_track
-- What a track holds and has not expired. $1 track, $2 now.
SELECT count(*) FROM sandboxes WHERE status = 'allocated' AND track_name = $1 AND expires_at > $2

-- name: reservation_in_force
-- Whether a reservation in force still holds sandboxes back. $1 now.
SELECT EXISTS (SELECT 1 FROM reservations WHERE starts_at <= $1 AND ends_at > $1 AND used < count)

-- name: lock_reservations
-- The lock every allocation takes while a reservation holds sandboxes back. $1 the lock
-- class, $2 the object.
SELECT pg_advisory_xact_lock($1::integer, $2::integer)

-- name: active_reservations
-- The reservations in force with sandboxes still held back. $1 now.
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at
FROM reservations WHERE starts_at <= $1 AND ends_at > $1 AND used < count

-- name: available_at_most
-- How many available names start with $1, reading at most $2 index entries whatever the
-- pool's size.
SELECT count(*) FROM (SELECT 1 FROM sandboxes WHERE status = 'available'
  AND name >= $1 AND left(name, length($1)) = $1 LIMIT $2) AS a

-- name: charge_reservation
-- $1 reservation id.
UPDATE reservations SET used = used + 1 WHERE id = $1 AND used < count

-- name: count_available
SELECT count(*) FROM sandboxes WHERE status = 'available'

-- name: count_available_prefix
-- $1 the prefix.
SELECT count(*) FROM sandboxes WHERE status = 'available' AND name >= $1 AND left(name, length($1)) = $1

-- name: insert_reservation
-- $1 id, $2 track, $3 name_prefix, $4 count, $5 starts_at, $6 ends_at, $7 created_at.
INSERT INTO reservations (id, track, name_prefix, count, used, starts_at, ends_at, created_at)
VALUES ($1, $2, $3, $4, 0, $5, $6, $7)

-- name: list_reservations
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at
FROM reservations ORDER BY starts_at, id

-- name: get_reservation
-- $1 id.
SELECT id, track, name_prefix, count, used, starts_at, ends_at, created_at FROM reservations WHERE id = $1

-- name: delete_reservation
-- $1 id.
DELETE FROM reservations WHERE id = $1

-- name: set_track_limit
-- $1 track, $2 max_active.
INSERT INTO track_limits (track, max_active) VALUES ($1, $2)
ON CONFLICT (track) DO UPDATE SET max_active = EXCLUDED.max_active

-- name: delete_track_limit
-- $1 track.
DELETE FROM track_limits WHERE track = $1

-- name: list_track_limits
-- Each limit with what its track holds and has not expired. $1 now.
SELECT l.track, l.max_active, (SELECT count(*) FROM sandboxes s WHERE s.status = 'allocated'
  AND s.track_name = l.track AND s.expires_at > $1) FROM track_limits l ORDER BY l.track
