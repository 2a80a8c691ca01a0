-- The SQLite store's webhook subscriptions and deliveries (store/webhook_store.hpp); the
-- tables are schema step 11 (schema/steps.sql). A cursor moves only from the value read, a
-- delivery is claimed by one worker at a time, and an attempt is recorded only by its claim's
-- holder.

-- name: insert_webhook
INSERT INTO webhook_subscriptions (id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at, event_cursor, failing_since, consecutive_failed)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)

-- name: list_webhooks
SELECT id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at, event_cursor, failing_since, consecutive_failed
FROM webhook_subscriptions
ORDER BY created_at, id

-- name: get_webhook
SELECT id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at, event_cursor, failing_since, consecutive_failed
FROM webhook_subscriptions
WHERE id = ?1

-- name: delete_webhook
DELETE FROM webhook_subscriptions
WHERE id = ?1

-- name: delete_webhook_deliveries
DELETE FROM webhook_deliveries
WHERE subscription_id = ?1

-- name: disable_webhook
UPDATE webhook_subscriptions
SET enabled = 0, disabled_reason = ?2, disabled_at = ?3
WHERE id = ?1 AND enabled = 1

-- name: enable_webhook
UPDATE webhook_subscriptions
SET enabled = 1, disabled_reason = '', disabled_at = NULL, failing_since = NULL, consecutive_failed = 0
WHERE id = ?1

-- name: move_cursor
-- ?1 id, ?2 the cursor read, ?3 the new cursor.
UPDATE webhook_subscriptions
SET event_cursor = ?3
WHERE id = ?1 AND event_cursor = ?2

-- name: insert_delivery
INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, sandbox_id, payload, status, created_at, next_attempt_at)
VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)

-- name: claimable_deliveries
-- Claimable: due, claim free or run out, and no earlier pending delivery of the same sandbox.
-- ?1 subscription, ?2 now, ?3 limit.
SELECT d.id
FROM webhook_deliveries d INDEXED BY webhook_deliveries_pending
WHERE d.subscription_id = ?1 AND d.status = 'pending' AND d.next_attempt_at <= ?2 AND d.claim_until <= ?2
  AND (d.sandbox_id = '' OR NOT EXISTS (
        SELECT 1 FROM webhook_deliveries e INDEXED BY webhook_deliveries_pending_sandbox
        WHERE e.subscription_id = d.subscription_id AND e.sandbox_id = d.sandbox_id
          AND e.status = 'pending' AND e.id < d.id))
ORDER BY d.id
LIMIT ?3

-- name: claim_delivery
-- ?1 id, ?2 worker, ?3 claim until.
UPDATE webhook_deliveries
SET claim_owner = ?2, claim_until = ?3
WHERE id = ?1
RETURNING id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at, next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms

-- name: record_attempt
-- ?1 id, ?2 worker, ?3 status, ?4 next attempt, ?5 now, ?6 http status, ?7 error, ?8 latency.
UPDATE webhook_deliveries
SET status = ?3, attempts = attempts + 1, next_attempt_at = ?4, last_attempt_at = ?5, last_http_status = ?6, last_error = ?7, last_latency_ms = ?8, claim_owner = '', claim_until = 0
WHERE id = ?1 AND claim_owner = ?2 AND status = 'pending'
RETURNING subscription_id

-- name: attempt_delivered
-- The subscription's failure record after an attempt. ?1 id, ?2 now.
UPDATE webhook_subscriptions
SET failing_since = NULL, consecutive_failed = 0
WHERE id = ?1

-- name: attempt_failed
UPDATE webhook_subscriptions
SET failing_since = COALESCE(failing_since, ?2)
WHERE id = ?1

-- name: delivery_failed
UPDATE webhook_subscriptions
SET failing_since = COALESCE(failing_since, ?2), consecutive_failed = consecutive_failed + 1
WHERE id = ?1

-- name: list_deliveries
-- ?1 subscription, ?2 before (exclusive), ?3 limit.
SELECT id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at, next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms
FROM webhook_deliveries
WHERE subscription_id = ?1 AND id < ?2
ORDER BY id DESC
LIMIT ?3

-- name: get_delivery
SELECT id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at, next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms
FROM webhook_deliveries
WHERE subscription_id = ?1 AND id = ?2

-- name: redeliver
-- A live claim is kept: its holder's answer decides, and the row is claimable again after it.
UPDATE webhook_deliveries
SET status = 'pending', next_attempt_at = ?3
WHERE subscription_id = ?1 AND id = ?2
RETURNING id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at, next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms

-- name: count_pending
SELECT count(*)
FROM webhook_deliveries INDEXED BY webhook_deliveries_pending
WHERE subscription_id = ?1 AND status = 'pending'

-- name: prune_deliveries
DELETE FROM webhook_deliveries
WHERE status <> 'pending' AND last_attempt_at < ?1
