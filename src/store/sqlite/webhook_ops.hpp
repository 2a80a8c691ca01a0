// The SQLite store's webhook subscriptions and deliveries (store/webhook_store.hpp): each
// function runs on the connection it is given, the writes inside the writer's transaction.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/webhook_store.hpp"

namespace broker::sqlite {

void create_webhook(Connection& conn, const WebhookSubscription& subscription);
std::vector<WebhookSubscription> list_webhooks(Connection& conn);
std::optional<WebhookSubscription> get_webhook(Connection& conn, const std::string& id);
bool delete_webhook(Connection& conn, const std::string& id);
bool disable_webhook(Connection& conn, const std::string& id, const std::string& reason, UnixSeconds now);
bool enable_webhook(Connection& conn, const std::string& id);
bool enqueue_deliveries(Connection& conn, const std::string& subscription_id, std::int64_t from_cursor,
                        std::int64_t to_cursor, std::span<const OutboxEvent> events, UnixSeconds now);
std::vector<WebhookDelivery> claim_deliveries(Connection& conn, const DeliveryClaim& claim);
bool record_attempt(Connection& conn, const DeliveryAttempt& attempt);
DeliveryPage list_deliveries(Connection& conn, const std::string& subscription_id,
                             std::optional<std::int64_t> before, int limit);
std::optional<WebhookDelivery> get_delivery(Connection& conn, const std::string& subscription_id,
                                            std::int64_t delivery_id);
std::optional<WebhookDelivery> redeliver(Connection& conn, const std::string& subscription_id,
                                         std::int64_t delivery_id, UnixSeconds now);
std::int64_t count_pending(Connection& conn, const std::string& subscription_id);
std::int64_t prune_deliveries(Connection& conn, UnixSeconds before);

}  // namespace broker::sqlite
