// The PostgreSQL store's webhook subscriptions and deliveries: see webhook_ops.hpp.
#include "store/postgres/webhook_ops.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "store/postgres/outbox_ops.hpp"
#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

std::optional<std::int64_t> optional_int(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

WebhookSubscription read_subscription(const pqxx::row& row) {
    WebhookSubscription s;
    s.id = row[0].as<std::string>();
    s.url = row[1].as<std::string>();
    s.event_types = split_event_types(row[2].as<std::string>());
    s.description = row[3].as<std::string>();
    s.secret = row[4].as<std::string>();
    s.enabled = row[5].as<bool>();
    s.disabled_reason = row[6].as<std::string>();
    s.created_at = row[7].as<std::int64_t>();
    s.disabled_at = optional_int(row[8]);
    s.cursor = row[9].as<std::int64_t>();
    s.failing_since = optional_int(row[10]);
    s.consecutive_failed = row[11].as<std::int64_t>();
    return s;
}

WebhookDelivery read_delivery(const pqxx::row& row) {
    WebhookDelivery d;
    d.id = row[0].as<std::int64_t>();
    d.subscription_id = row[1].as<std::string>();
    d.event_id = row[2].as<std::int64_t>();
    d.event_type = row[3].as<std::string>();
    d.sandbox_id = row[4].as<std::string>();
    d.payload = row[5].as<std::string>();
    d.status = delivery_status_from(row[6].as<std::string>()).value_or(DeliveryStatus::pending);
    d.attempts = row[7].as<std::int64_t>();
    d.created_at = row[8].as<std::int64_t>();
    d.next_attempt_at = row[9].as<std::int64_t>();
    d.last_attempt_at = optional_int(row[10]);
    if (auto status = optional_int(row[11])) d.last_http_status = static_cast<int>(*status);
    d.last_error = row[12].as<std::string>();
    d.last_latency_ms = optional_int(row[13]);
    return d;
}

}  // namespace

void create_webhook(pqxx::connection& conn, const WebhookSubscription& s) {
    pqxx::work tx(conn);
    tx.exec_prepared(stmt::kInsertWebhook, s.id, s.url, join_event_types(s.event_types), s.description,
                     s.secret, s.enabled, s.disabled_reason, s.created_at, s.disabled_at, s.cursor,
                     s.failing_since, s.consecutive_failed);
    tx.commit();
}

std::vector<WebhookSubscription> list_webhooks(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    std::vector<WebhookSubscription> out;
    for (const auto& row : tx.exec_prepared(stmt::kListWebhooks)) out.push_back(read_subscription(row));
    return out;
}

std::optional<WebhookSubscription> get_webhook(pqxx::connection& conn, const std::string& id) {
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec_prepared(stmt::kGetWebhook, id);
    if (rows.empty()) return std::nullopt;
    return read_subscription(rows[0]);
}

bool delete_webhook(pqxx::connection& conn, const std::string& id) {
    pqxx::work tx(conn);
    const bool gone = !tx.exec_prepared(stmt::kDeleteWebhook, id).empty();
    tx.commit();
    return gone;
}

bool disable_webhook(pqxx::connection& conn, const OutboxControl& outbox, const std::string& id,
                     const std::string& reason, UnixSeconds now) {
    pqxx::work tx(conn);
    const auto rows = tx.exec_prepared(stmt::kDisableWebhook, id, reason, now);
    if (rows.empty()) {
        tx.commit();
        return false;
    }
    WebhookSubscription disabled;
    disabled.id = rows[0][0].as<std::string>();
    disabled.url = rows[0][1].as<std::string>();
    disabled.description = rows[0][2].as<std::string>();
    // Announced in the same transaction: a disable is never left unsaid.
    append_event_in(tx, outbox, kEventWebhookDisabled, webhook_disabled_data(disabled, reason), now);
    tx.commit();
    return true;
}

bool enable_webhook(pqxx::connection& conn, const std::string& id) {
    pqxx::work tx(conn);
    const bool found = !tx.exec_prepared(stmt::kEnableWebhook, id).empty();
    tx.commit();
    return found;
}

bool enqueue_deliveries(pqxx::connection& conn, const std::string& subscription_id, std::int64_t from_cursor,
                        std::int64_t to_cursor, std::span<const OutboxEvent> events, UnixSeconds now) {
    pqxx::work tx(conn);
    if (tx.exec_prepared(stmt::kMoveWebhookCursor, subscription_id, from_cursor, to_cursor).empty()) {
        tx.abort();
        return false;
    }
    if (!events.empty()) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& e : events)
            rows.push_back({{"event_id", e.id},
                            {"event_type", e.type},
                            {"sandbox_id", e.sandbox_id},
                            {"payload", e.payload}});
        tx.exec_prepared(stmt::kInsertDeliveries, subscription_id, rows.dump(), now);
    }
    tx.commit();
    return true;
}

std::vector<WebhookDelivery> claim_deliveries(pqxx::connection& conn, const DeliveryClaim& claim) {
    pqxx::work tx(conn);
    std::vector<WebhookDelivery> out;
    for (const auto& row : tx.exec_prepared(stmt::kClaimDeliveries, claim.subscription_id, claim.now,
                                            claim.worker_id, claim.claim_until, claim.limit))
        out.push_back(read_delivery(row));
    tx.commit();
    // RETURNING keeps no order: oldest first, as the interface says.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

namespace {

bool record_attempt_in(pqxx::work& tx, const DeliveryAttempt& a) {
    const auto http_status = a.http_status ? std::optional<std::int64_t>(*a.http_status) : std::nullopt;
    return !tx.exec_prepared(stmt::kRecordAttempt, a.delivery_id, a.worker_id,
                             std::string(to_string(a.outcome)), a.next_attempt_at, a.now, http_status,
                             a.error, a.latency_ms)
                .empty();
}

}  // namespace

bool record_attempt(pqxx::connection& conn, const DeliveryAttempt& a) {
    pqxx::work tx(conn);
    const bool recorded = record_attempt_in(tx, a);
    tx.commit();
    return recorded;
}

std::vector<bool> record_attempts(pqxx::connection& conn, std::span<const DeliveryAttempt> attempts) {
    pqxx::work tx(conn);
    std::vector<bool> out;
    out.reserve(attempts.size());
    for (const auto& a : attempts) out.push_back(record_attempt_in(tx, a));
    tx.commit();
    return out;
}

DeliveryPage list_deliveries(pqxx::connection& conn, const std::string& subscription_id,
                             std::optional<std::int64_t> before, int limit) {
    pqxx::nontransaction tx(conn);
    DeliveryPage page;
    for (const auto& row :
         tx.exec_prepared(stmt::kListDeliveries, subscription_id,
                          before.value_or(std::numeric_limits<std::int64_t>::max()), std::int64_t{limit} + 1))
        page.items.push_back(read_delivery(row));
    if (static_cast<int>(page.items.size()) > limit) {
        page.items.pop_back();
        page.next_before = page.items.back().id;
    }
    return page;
}

std::optional<WebhookDelivery> get_delivery(pqxx::connection& conn, const std::string& subscription_id,
                                            std::int64_t delivery_id) {
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec_prepared(stmt::kGetDelivery, subscription_id, delivery_id);
    if (rows.empty()) return std::nullopt;
    return read_delivery(rows[0]);
}

std::optional<WebhookDelivery> redeliver(pqxx::connection& conn, const std::string& subscription_id,
                                         std::int64_t delivery_id, UnixSeconds now) {
    pqxx::work tx(conn);
    const auto rows = tx.exec_prepared(stmt::kRedeliver, subscription_id, delivery_id, now);
    tx.commit();
    if (rows.empty()) return std::nullopt;
    return read_delivery(rows[0]);
}

std::int64_t count_pending(pqxx::connection& conn, const std::string& subscription_id) {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared1(stmt::kCountPendingDeliveries, subscription_id)[0].as<std::int64_t>();
}

std::int64_t prune_deliveries(pqxx::connection& conn, UnixSeconds before) {
    pqxx::nontransaction tx(conn);
    return static_cast<std::int64_t>(tx.exec_prepared(stmt::kPruneDeliveries, before).affected_rows());
}

}  // namespace broker::pg
