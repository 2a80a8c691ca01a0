-- The PostgreSQL store's webhook subscriptions and deliveries (store/webhook_store.hpp); the
-- tables are schema step 9 (schema/steps.sql). Several workers share them: a cursor moves
-- only from the value read, a claim takes only rows no other claimer holds (FOR UPDATE SKIP
-- LOCKED, then a conditional update), and an attempt is recorded only by its claim's holder.

-- name: insert_webhook
-- $1 id, $2 url, $3 event types, $4 description, $5 secret, $6 enabled, $7 disabled reason,
-- $8 created at, $9 disabled at, $10 cursor, $11 failing since, $12 consecutive failed.
INSERT INTO webhook_subscriptions (id, url, event_types, description, secret, enabled, disabled_reason,
    created_at, disabled_at, event_cursor, failing_since, consecutive_failed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)

-- name: list_webhooks
SELECT id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at,
    event_cursor, failing_since, consecutive_failed
FROM webhook_subscriptions
ORDER BY created_at, id

-- name: get_webhook
-- $1 id.
SELECT id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at,
    event_cursor, failing_since, consecutive_failed
FROM webhook_subscriptions
WHERE id = $1

-- name: delete_webhook
-- $1 id. The subscription and its deliveries; a row back when there was one.
WITH gone AS (DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING id),
deliveries AS (DELETE FROM webhook_deliveries WHERE subscription_id IN (SELECT id FROM gone))
SELECT id
FROM gone

-- name: disable_webhook
-- $1 id, $2 reason, $3 now. A row back (what the announcement names) only when this call
-- disabled it.
UPDATE webhook_subscriptions SET enabled = false, disabled_reason = $2, disabled_at = $3
WHERE id = $1 AND enabled
RETURNING id, url, description

-- name: enable_webhook
-- $1 id.
UPDATE webhook_subscriptions SET enabled = true, disabled_reason = '', disabled_at = NULL,
    failing_since = NULL, consecutive_failed = 0
WHERE id = $1
RETURNING id

-- name: move_webhook_cursor
-- $1 id, $2 the cursor read, $3 the new cursor; a row back when it moved.
UPDATE webhook_subscriptions SET event_cursor = $3
WHERE id = $1 AND event_cursor = $2
RETURNING id

-- name: insert_deliveries
-- $1 subscription, $2 the events as a JSON array of {event_id, event_type, sandbox_id,
-- payload}, $3 now. Ids are taken in event order.
INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, sandbox_id, payload, status,
    created_at, next_attempt_at)
SELECT $1, x.event_id, x.event_type, x.sandbox_id, x.payload, 'pending', $3, $3
FROM json_to_recordset($2::json) AS x(event_id bigint, event_type text, sandbox_id text, payload text)
ORDER BY x.event_id

-- name: claim_deliveries
-- $1 subscription, $2 now, $3 worker, $4 claim until, $5 limit. Claimable: due, claim free
-- or run out, and no earlier pending delivery of the same sandbox. Rows another claimer is
-- taking are skipped, and the update re-checks the claim on the row it locked.
WITH claimable AS (
    SELECT d.id
    FROM webhook_deliveries d
    WHERE d.subscription_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2
      AND d.claim_until <= $2
      AND (d.sandbox_id = '' OR NOT EXISTS (
          SELECT 1 FROM webhook_deliveries e
          WHERE e.subscription_id = d.subscription_id AND e.sandbox_id = d.sandbox_id
            AND e.status = 'pending' AND e.id < d.id))
    ORDER BY d.id
    LIMIT $5
    FOR UPDATE SKIP LOCKED)
UPDATE webhook_deliveries w SET claim_owner = $3, claim_until = $4
FROM claimable c
WHERE w.id = c.id AND w.status = 'pending' AND w.claim_until <= $2
RETURNING w.id, w.subscription_id, w.event_id, w.event_type, w.sandbox_id, w.payload, w.status, w.attempts,
    w.created_at, w.next_attempt_at, w.last_attempt_at, w.last_http_status, w.last_error, w.last_latency_ms

-- name: record_attempt
-- $1 id, $2 worker, $3 outcome status, $4 next attempt, $5 now, $6 http status, $7 error,
-- $8 latency. The attempt and the subscription's failure record, in one statement; a row
-- back only when the worker held the claim of a pending delivery.
WITH attempt AS (
    UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4,
        last_attempt_at = $5, last_http_status = $6, last_error = $7, last_latency_ms = $8,
        claim_owner = '', claim_until = 0
    WHERE id = $1 AND claim_owner = $2 AND status = 'pending'
    RETURNING subscription_id),
record AS (
    UPDATE webhook_subscriptions s SET
        failing_since = CASE WHEN $3::text = 'delivered' THEN NULL ELSE coalesce(s.failing_since, $5) END,
        consecutive_failed = CASE $3::text WHEN 'delivered' THEN 0 WHEN 'failed' THEN s.consecutive_failed + 1
            ELSE s.consecutive_failed END
    FROM attempt a
    WHERE s.id = a.subscription_id)
SELECT subscription_id
FROM attempt

-- name: list_deliveries
-- $1 subscription, $2 before (exclusive), $3 limit.
SELECT id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at,
    next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms
FROM webhook_deliveries
WHERE subscription_id = $1 AND id < $2
ORDER BY id DESC
LIMIT $3

-- name: get_delivery
-- $1 subscription, $2 id.
SELECT id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at,
    next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms
FROM webhook_deliveries
WHERE subscription_id = $1 AND id = $2

-- name: redeliver
-- $1 subscription, $2 id, $3 now. A live claim is kept: its holder's answer decides, and the
-- row is claimable again after it.
UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3
WHERE subscription_id = $1 AND id = $2
RETURNING id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at,
    next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms

-- name: count_pending_deliveries
-- $1 subscription.
SELECT count(*)
FROM webhook_deliveries
WHERE subscription_id = $1 AND status = 'pending'

-- name: prune_deliveries
-- $1 before: finished deliveries last attempted earlier.
DELETE FROM webhook_deliveries
WHERE status <> 'pending' AND last_attempt_at < $1
