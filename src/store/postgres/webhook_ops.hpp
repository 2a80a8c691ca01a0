// The PostgreSQL store's webhook subscriptions and deliveries (store/webhook_store.hpp), on
// the statements of sql/webhook.sql: each function is one transaction on the connection given.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/connection>
#include <span>
#include <string>
#include <vector>

#include "store/outbox.hpp"
#include "store/webhook_store.hpp"

namespace broker::pg {

void create_webhook(pqxx::connection& conn, const WebhookSubscription& subscription);
std::vector<WebhookSubscription> list_webhooks(pqxx::connection& conn);
std::optional<WebhookSubscription> get_webhook(pqxx::connection& conn, const std::string& id);
bool delete_webhook(pqxx::connection& conn, const std::string& id);
// Disables it and writes its webhook.disabled event (when `outbox` is on) in one transaction.
bool disable_webhook(pqxx::connection& conn, const OutboxControl& outbox, const std::string& id,
                     const std::string& reason, UnixSeconds now);
bool enable_webhook(pqxx::connection& conn, const std::string& id);
bool enqueue_deliveries(pqxx::connection& conn, const std::string& subscription_id, std::int64_t from_cursor,
                        std::int64_t to_cursor, std::span<const OutboxEvent> events, UnixSeconds now);
std::vector<WebhookDelivery> claim_deliveries(pqxx::connection& conn, const DeliveryClaim& claim);
bool record_attempt(pqxx::connection& conn, const DeliveryAttempt& attempt);
// Each attempt as record_attempt, all in one transaction.
std::vector<bool> record_attempts(pqxx::connection& conn, std::span<const DeliveryAttempt> attempts);
DeliveryPage list_deliveries(pqxx::connection& conn, const std::string& subscription_id,
                             std::optional<std::int64_t> before, int limit);
std::optional<WebhookDelivery> get_delivery(pqxx::connection& conn, const std::string& subscription_id,
                                            std::int64_t delivery_id);
std::optional<WebhookDelivery> redeliver(pqxx::connection& conn, const std::string& subscription_id,
                                         std::int64_t delivery_id, UnixSeconds now);
std::int64_t count_pending(pqxx::connection& conn, const std::string& subscription_id);
std::int64_t prune_deliveries(pqxx::connection& conn, UnixSeconds before);

}  // namespace broker::pg
