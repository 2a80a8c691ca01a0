// The SQLite store's webhook subscriptions and deliveries: see webhook_ops.hpp.
#include "store/sqlite/webhook_ops.hpp"

#include <limits>

#include "sql/sqlite_queries.hpp"
#include "store/sqlite/outbox_ops.hpp"

namespace broker::sqlite {
namespace {

WebhookSubscription read_subscription(const Query& q) {
    WebhookSubscription s;
    s.id = q.text(0);
    s.url = q.text(1);
    s.event_types = split_event_types(q.text(2));
    s.description = q.text(3);
    s.secret = q.text(4);
    s.enabled = q.integer(5) != 0;
    s.disabled_reason = q.text(6);
    s.created_at = q.integer(7);
    s.disabled_at = q.optional_integer(8);
    s.cursor = q.integer(9);
    s.failing_since = q.optional_integer(10);
    s.consecutive_failed = q.integer(11);
    return s;
}

WebhookDelivery read_delivery(const Query& q) {
    WebhookDelivery d;
    d.id = q.integer(0);
    d.subscription_id = q.text(1);
    d.event_id = q.integer(2);
    d.event_type = q.text(3);
    d.sandbox_id = q.text(4);
    d.payload = q.text(5);
    d.status = delivery_status_from(q.text(6)).value_or(DeliveryStatus::pending);
    d.attempts = q.integer(7);
    d.created_at = q.integer(8);
    d.next_attempt_at = q.integer(9);
    d.last_attempt_at = q.optional_integer(10);
    if (auto status = q.optional_integer(11)) d.last_http_status = static_cast<int>(*status);
    d.last_error = q.text(12);
    d.last_latency_ms = q.optional_integer(13);
    return d;
}

}  // namespace

void create_webhook(Connection& conn, const WebhookSubscription& s) {
    conn.query(sql::kInsertWebhook)
        .bind(1, s.id)
        .bind(2, s.url)
        .bind(3, join_event_types(s.event_types))
        .bind(4, s.description)
        .bind(5, s.secret)
        .bind(6, std::int64_t{s.enabled ? 1 : 0})
        .bind(7, s.disabled_reason)
        .bind(8, s.created_at)
        .bind(9, s.disabled_at)
        .bind(10, s.cursor)
        .bind(11, s.failing_since)
        .bind(12, s.consecutive_failed)
        .run();
}

std::vector<WebhookSubscription> list_webhooks(Connection& conn) {
    auto q = conn.query(sql::kListWebhooks);
    std::vector<WebhookSubscription> out;
    while (q.step()) out.push_back(read_subscription(q));
    return out;
}

std::optional<WebhookSubscription> get_webhook(Connection& conn, const std::string& id) {
    auto q = conn.query(sql::kGetWebhook);
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_subscription(q);
}

bool delete_webhook(Connection& conn, const std::string& id) {
    conn.query(sql::kDeleteWebhook).bind(1, id).run();
    if (conn.changes() == 0) return false;
    conn.query(sql::kDeleteWebhookDeliveries).bind(1, id).run();
    return true;
}

bool disable_webhook(Connection& conn, const std::string& id, const std::string& reason, UnixSeconds now) {
    conn.query(sql::kDisableWebhook).bind(1, id).bind(2, reason).bind(3, now).run();
    if (conn.changes() == 0) return false;
    // Announced in the same transaction: a disable is never left unsaid.
    if (const auto disabled = get_webhook(conn, id))
        append_event(conn, kEventWebhookDisabled, webhook_disabled_data(*disabled, reason), now);
    return true;
}

bool enable_webhook(Connection& conn, const std::string& id) {
    conn.query(sql::kEnableWebhook).bind(1, id).run();
    return conn.changes() > 0;
}

bool enqueue_deliveries(Connection& conn, const std::string& subscription_id, std::int64_t from_cursor,
                        std::int64_t to_cursor, std::span<const OutboxEvent> events, UnixSeconds now) {
    conn.query(sql::kMoveCursor).bind(1, subscription_id).bind(2, from_cursor).bind(3, to_cursor).run();
    if (conn.changes() == 0) return false;
    for (const auto& e : events) {
        conn.query(sql::kInsertDelivery)
            .bind(1, subscription_id)
            .bind(2, e.id)
            .bind(3, e.type)
            .bind(4, e.sandbox_id)
            .bind(5, e.payload)
            .bind(6, now)
            .run();
    }
    return true;
}

std::vector<WebhookDelivery> claim_deliveries(Connection& conn, const DeliveryClaim& claim) {
    std::vector<std::int64_t> ids;
    {
        auto q = conn.query(sql::kClaimableDeliveries);
        q.bind(1, claim.subscription_id).bind(2, claim.now).bind(3, std::int64_t{claim.limit});
        while (q.step()) ids.push_back(q.integer(0));
    }
    std::vector<WebhookDelivery> out;
    for (const auto id : ids) {
        auto q = conn.query(sql::kClaimDelivery);
        q.bind(1, id).bind(2, claim.worker_id).bind(3, claim.claim_until);
        if (q.step()) out.push_back(read_delivery(q));
    }
    return out;
}

bool record_attempt(Connection& conn, const DeliveryAttempt& a) {
    std::string subscription_id;
    {
        auto q = conn.query(sql::kRecordAttempt);
        q.bind(1, a.delivery_id)
            .bind(2, a.worker_id)
            .bind(3, to_string(a.outcome))
            .bind(4, a.next_attempt_at)
            .bind(5, a.now)
            .bind(6, a.http_status ? std::optional<std::int64_t>(*a.http_status) : std::nullopt)
            .bind(7, a.error)
            .bind(8, a.latency_ms);
        if (!q.step()) return false;
        subscription_id = q.text(0);
    }
    const std::string_view sql = a.outcome == DeliveryStatus::delivered ? sql::kAttemptDelivered
                                 : a.outcome == DeliveryStatus::failed  ? sql::kDeliveryFailed
                                                                        : sql::kAttemptFailed;
    auto q = conn.query(sql);
    q.bind(1, subscription_id);
    if (a.outcome != DeliveryStatus::delivered) q.bind(2, a.now);
    q.run();
    return true;
}

DeliveryPage list_deliveries(Connection& conn, const std::string& subscription_id,
                             std::optional<std::int64_t> before, int limit) {
    auto q = conn.query(sql::kListDeliveries);
    q.bind(1, subscription_id)
        .bind(2, before.value_or(std::numeric_limits<std::int64_t>::max()))
        .bind(3, std::int64_t{limit} + 1);
    DeliveryPage page;
    while (q.step()) page.items.push_back(read_delivery(q));
    if (static_cast<int>(page.items.size()) > limit) {
        page.items.pop_back();
        page.next_before = page.items.back().id;
    }
    return page;
}

std::optional<WebhookDelivery> get_delivery(Connection& conn, const std::string& subscription_id,
                                            std::int64_t delivery_id) {
    auto q = conn.query(sql::kGetDelivery);
    q.bind(1, subscription_id).bind(2, delivery_id);
    if (!q.step()) return std::nullopt;
    return read_delivery(q);
}

std::optional<WebhookDelivery> redeliver(Connection& conn, const std::string& subscription_id,
                                         std::int64_t delivery_id, UnixSeconds now) {
    auto q = conn.query(sql::kRedeliver);
    q.bind(1, subscription_id).bind(2, delivery_id).bind(3, now);
    if (!q.step()) return std::nullopt;
    return read_delivery(q);
}

std::int64_t count_pending(Connection& conn, const std::string& subscription_id) {
    auto q = conn.query(sql::kCountPending);
    q.bind(1, subscription_id);
    q.step();
    return q.integer(0);
}

std::int64_t prune_deliveries(Connection& conn, UnixSeconds before) {
    conn.query(sql::kPruneDeliveries).bind(1, before).run();
    return conn.changes();
}

}  // namespace broker::sqlite
