-- The SQLite store's statements of `copy`: sandboxes written in with their history.

-- name: insert_copied
-- ?1..?15 the Sandbox fields in kSandboxColumns order, ?16 stale_since, ?17
-- next_attempt_at. A row already there is left as it is (a rerun carries on).
INSERT INTO sandboxes (sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
    track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
    deletion_retry_count, created_at, updated_at, version, stale_since, next_attempt_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (sandbox_id) DO NOTHING

-- name: insert_copied_event
-- ?1 sandbox id, ?2 at, ?3 from (NULL: created), ?4 to (NULL: removed), ?5 actor, ?6 reason.
INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
