// The SQL of the webhook subscriptions and deliveries (store/webhook_store.hpp) for SQLite:
// the schema step that adds them and the statements, constants never built from input.
#pragma once

#include <string_view>

namespace broker::sqlite {

// Schema step: subscriptions (with their cursor in the outbox and failure record) and their
// deliveries. Delivery ids never come back after a removal (AUTOINCREMENT): they name a
// delivery in the admin API.
inline constexpr std::string_view kWebhookSchemaSql = R"sql(
CREATE TABLE webhook_subscriptions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    url                TEXT    NOT NULL,
    event_types        TEXT    NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    secret             TEXT    NOT NULL,
    enabled            INTEGER NOT NULL DEFAULT 1,
    disabled_reason    TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    disabled_at        INTEGER,
    event_cursor       INTEGER NOT NULL DEFAULT 0,
    failing_since      INTEGER,
    consecutive_failed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  TEXT    NOT NULL,
    event_id         INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    sandbox_id       TEXT    NOT NULL DEFAULT '',
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_http_status INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    last_latency_ms  INTEGER,
    claim_owner      TEXT    NOT NULL DEFAULT '',
    claim_until      INTEGER NOT NULL DEFAULT 0
);
-- The admin API's pages of one subscription's deliveries.
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);
-- Claiming: a subscription's pending deliveries in order, and the one before in a sandbox.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending_sandbox ON webhook_deliveries (subscription_id, sandbox_id, id)
    WHERE status = 'pending';
-- Pruning finished deliveries by age.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (last_attempt_at) WHERE status <> 'pending';
)sql";

#define WEBHOOK_SUBSCRIPTION_COLUMNS                                                                 \
    "id, url, event_types, description, secret, enabled, disabled_reason, created_at, disabled_at, " \
    "event_cursor, failing_since, consecutive_failed"

#define WEBHOOK_DELIVERY_COLUMNS                                                                     \
    "id, subscription_id, event_id, event_type, sandbox_id, payload, status, attempts, created_at, " \
    "next_attempt_at, last_attempt_at, last_http_status, last_error, last_latency_ms"

inline constexpr std::string_view kInsertWebhookSql =
    "INSERT INTO webhook_subscriptions (" WEBHOOK_SUBSCRIPTION_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
inline constexpr std::string_view kListWebhooksSql =
    "SELECT " WEBHOOK_SUBSCRIPTION_COLUMNS " FROM webhook_subscriptions ORDER BY created_at, id";
inline constexpr std::string_view kGetWebhookSql =
    "SELECT " WEBHOOK_SUBSCRIPTION_COLUMNS " FROM webhook_subscriptions WHERE id = ?1";
inline constexpr std::string_view kDeleteWebhookSql = "DELETE FROM webhook_subscriptions WHERE id = ?1";
inline constexpr std::string_view kDeleteWebhookDeliveriesSql =
    "DELETE FROM webhook_deliveries WHERE subscription_id = ?1";
inline constexpr std::string_view kDisableWebhookSql =
    "UPDATE webhook_subscriptions SET enabled = 0, disabled_reason = ?2, disabled_at = ?3 "
    "WHERE id = ?1 AND enabled = 1";
inline constexpr std::string_view kEnableWebhookSql =
    "UPDATE webhook_subscriptions SET enabled = 1, disabled_reason = '', disabled_at = NULL, "
    "failing_since = NULL, consecutive_failed = 0 WHERE id = ?1";

// ?1 id, ?2 the cursor read, ?3 the new cursor.
inline constexpr std::string_view kMoveCursorSql =
    "UPDATE webhook_subscriptions SET event_cursor = ?3 WHERE id = ?1 AND event_cursor = ?2";
inline constexpr std::string_view kInsertDeliverySql =
    "INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, sandbox_id, payload, status, "
    "created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)";

// Claimable: due, claim free or run out, and no earlier pending delivery of the same sandbox.
// ?1 subscription, ?2 now, ?3 limit.
inline constexpr std::string_view kClaimableDeliveriesSql =
    "SELECT d.id FROM webhook_deliveries d INDEXED BY webhook_deliveries_pending "
    "WHERE d.subscription_id = ?1 AND d.status = 'pending' AND d.next_attempt_at <= ?2 AND d.claim_until <= "
    "?2 "
    "AND (d.sandbox_id = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e INDEXED BY "
    "webhook_deliveries_pending_sandbox WHERE e.subscription_id = d.subscription_id AND e.sandbox_id = "
    "d.sandbox_id AND e.status = 'pending' AND e.id < d.id)) ORDER BY d.id LIMIT ?3";
// ?1 id, ?2 worker, ?3 claim until.
inline constexpr std::string_view kClaimDeliverySql =
    "UPDATE webhook_deliveries SET claim_owner = ?2, claim_until = ?3 WHERE id = ?1 "
    "RETURNING " WEBHOOK_DELIVERY_COLUMNS;

// ?1 id, ?2 worker, ?3 status, ?4 next attempt, ?5 now, ?6 http status, ?7 error, ?8 latency.
inline constexpr std::string_view kRecordAttemptSql =
    "UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1, next_attempt_at = ?4, "
    "last_attempt_at = ?5, last_http_status = ?6, last_error = ?7, last_latency_ms = ?8, claim_owner = '', "
    "claim_until = 0 WHERE id = ?1 AND claim_owner = ?2 AND status = 'pending' RETURNING subscription_id";
// The subscription's failure record after an attempt. ?1 id, ?2 now.
inline constexpr std::string_view kAttemptDeliveredSql =
    "UPDATE webhook_subscriptions SET failing_since = NULL, consecutive_failed = 0 WHERE id = ?1";
inline constexpr std::string_view kAttemptFailedSql =
    "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1";
inline constexpr std::string_view kDeliveryFailedSql =
    "UPDATE webhook_subscriptions SET failing_since = COALESCE(failing_since, ?2), "
    "consecutive_failed = consecutive_failed + 1 WHERE id = ?1";

// ?1 subscription, ?2 before (exclusive), ?3 limit.
inline constexpr std::string_view kListDeliveriesSql =
    "SELECT " WEBHOOK_DELIVERY_COLUMNS
    " FROM webhook_deliveries WHERE subscription_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3";
inline constexpr std::string_view kGetDeliverySql =
    "SELECT " WEBHOOK_DELIVERY_COLUMNS " FROM webhook_deliveries WHERE subscription_id = ?1 AND id = ?2";
// A live claim is kept: its holder's answer decides, and the row is claimable again after it.
inline constexpr std::string_view kRedeliverSql =
    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3 WHERE subscription_id = ?1 AND "
    "id = ?2 "
    "RETURNING " WEBHOOK_DELIVERY_COLUMNS;
inline constexpr std::string_view kCountPendingSql =
    "SELECT count(*) FROM webhook_deliveries INDEXED BY webhook_deliveries_pending "
    "WHERE subscription_id = ?1 AND status = 'pending'";
inline constexpr std::string_view kPruneDeliveriesSql =
    "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND last_attempt_at < ?1";

}  // namespace broker::sqlite
