// Webhook subscriptions and their deliveries: each subscription's cursor in the outbox
// (event_store.hpp), the deliveries made from the events past it, and each delivery's
// state. Every change is one atomic conditional change, so several workers can share one
// store: a cursor moves only from the value its mover read, a delivery is sent by the worker
// holding its claim (a lease, as cleanup claims deletions), and a claim that runs out
// lets another worker send it again (at least once).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "store/event_store.hpp"

namespace broker {

struct WebhookSubscription {
    std::string id;                        // chosen by the caller ("wh_" + random)
    std::string url;                       // http or https
    std::vector<std::string> event_types;  // event types it receives; {"*"}: every type
    std::string description;
    std::string secret;  // "whsec_" + base64; never logged, shown once when created
    bool enabled = true;
    std::string disabled_reason;  // why it was disabled; empty while enabled
    UnixSeconds created_at = 0;
    std::optional<UnixSeconds> disabled_at;
    std::int64_t cursor = 0;  // the last outbox event id turned into deliveries (or skipped)
    // Since when every attempt failed (none since): cleared by the next delivered attempt.
    std::optional<UnixSeconds> failing_since;
    std::int64_t consecutive_failed = 0;  // deliveries given up in a row since the last delivered one

    // Whether an event of `type` is for this subscription.
    bool wants(const std::string& type) const {
        for (const auto& t : event_types)
            if (t == "*" || t == type) return true;
        return false;
    }
};

enum class DeliveryStatus { pending, delivered, failed };

struct WebhookDelivery {
    std::int64_t id = 0;  // increases per store (the {n} of the admin API's paths)
    std::string subscription_id;
    std::int64_t event_id = 0;
    std::string event_type;
    std::string sandbox_id;  // empty for events not about one sandbox (no order kept among them)
    std::string payload;     // the event's JSON, as sent
    DeliveryStatus status = DeliveryStatus::pending;
    std::int64_t attempts = 0;
    UnixSeconds created_at = 0;
    UnixSeconds next_attempt_at = 0;  // for pending ones
    std::optional<UnixSeconds> last_attempt_at;
    std::optional<int> last_http_status;  // the receiver's last answer, if it answered
    std::string last_error;               // the last attempt's failure (timeout, refused, ...)
    std::optional<std::int64_t> last_latency_ms;
};

struct DeliveryClaim {
    std::string subscription_id;
    std::string worker_id;
    UnixSeconds now = 0;
    UnixSeconds claim_until = 0;
    int limit = 1;
};

// What one attempt at a delivery came to.
struct DeliveryAttempt {
    std::int64_t delivery_id = 0;
    std::string subscription_id;  // the delivery's subscription (a store may find the delivery by it)
    std::string worker_id;        // the claim's holder; another worker's claim leaves the row alone
    UnixSeconds now = 0;
    DeliveryStatus outcome = DeliveryStatus::delivered;  // pending: retry at next_attempt_at
    UnixSeconds next_attempt_at = 0;
    std::optional<int> http_status;
    std::string error;
    std::int64_t latency_ms = 0;
};

struct DeliveryPage {
    std::vector<WebhookDelivery> items;  // newest first
    std::optional<std::int64_t> next_before;
};

class WebhookStore {
  public:
    virtual ~WebhookStore() = default;

    // Stores a new subscription as given.
    virtual void create_webhook(const WebhookSubscription& subscription) = 0;
    // Every subscription, ordered by creation, then id.
    virtual std::vector<WebhookSubscription> list_webhooks() = 0;
    virtual std::optional<WebhookSubscription> get_webhook(const std::string& id) = 0;
    // Removes the subscription and its deliveries; false when there was none.
    virtual bool delete_webhook(const std::string& id) = 0;
    // Disables an enabled subscription and records its webhook.disabled event
    // (webhook_disabled_data) with the change; false, and no event, when it was not enabled (or
    // is gone): only one caller disables it.
    virtual bool disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) = 0;
    // Enables it again, its failure record cleared; false when there is none.
    virtual bool enable_webhook(const std::string& id) = 0;

    // Moves the subscription's cursor from `from_cursor` to `to_cursor` and creates a pending
    // delivery, due at `now`, for each of `events` (those past the cursor it wants), in one
    // change. False, and nothing written, when the cursor is no longer `from_cursor`
    // (another worker moved it) or the subscription is gone.
    virtual bool enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                                    std::int64_t to_cursor, std::span<const OutboxEvent> events,
                                    UnixSeconds now) = 0;

    // Claims at most `limit` due pending deliveries of the subscription, oldest first, whose
    // claim is free or ran out, and each of which is the oldest pending delivery of its
    // sandbox for the subscription: a sandbox's next event waits until the one before is
    // delivered or failed.
    virtual std::vector<WebhookDelivery> claim_deliveries(const DeliveryClaim& claim) = 0;

    // Records an attempt on a delivery the worker holds, releases the claim, and keeps the
    // subscription's failure record (failing_since, consecutive_failed). False when the
    // worker no longer holds the claim or the delivery is not pending.
    virtual bool record_attempt(const DeliveryAttempt& attempt) = 0;
    // record_attempt for each of `attempts`, in order, in as few store changes as the store
    // allows (one transaction on SQLite and PostgreSQL, item by item on DynamoDB); what
    // record_attempt would return, per attempt.
    virtual std::vector<bool> record_attempts(std::span<const DeliveryAttempt> attempts) = 0;

    // One page of the subscription's deliveries, newest first, ids below `before` (none: from
    // the newest).
    virtual DeliveryPage list_deliveries(const std::string& subscription_id,
                                         std::optional<std::int64_t> before, int limit) = 0;
    virtual std::optional<WebhookDelivery> get_delivery(const std::string& subscription_id,
                                                        std::int64_t delivery_id) = 0;
    // Makes the delivery pending again, due at `now`, its claim released (its attempts kept).
    // Nothing when the subscription has no such delivery.
    virtual std::optional<WebhookDelivery> redeliver(const std::string& subscription_id,
                                                     std::int64_t delivery_id, UnixSeconds now) = 0;

    // Pending deliveries of the subscription (the backlog gauge).
    virtual std::int64_t count_pending(const std::string& subscription_id) = 0;
    // Removes delivered and failed deliveries last attempted before `before`; returns how many.
    virtual std::int64_t prune_deliveries(UnixSeconds before) = 0;
};

std::string_view to_string(DeliveryStatus status);
// The event types as one text column ("a,b" or "*"), and back; types never hold a comma.
std::string join_event_types(const std::vector<std::string>& types);
std::vector<std::string> split_event_types(std::string_view text);
std::optional<DeliveryStatus> delivery_status_from(std::string_view text);

// The data of the webhook.disabled event a store records when it disables `subscription`.
std::string webhook_disabled_data(const WebhookSubscription& subscription, const std::string& reason);
inline constexpr std::string_view kEventWebhookDisabled = "webhook.disabled";

// The outbox id every enabled subscription has turned into deliveries: events up to it may
// be pruned (prune_events). `last_event_id` when no subscription is enabled.
std::int64_t delivered_watermark(std::span<const WebhookSubscription> subscriptions,
                                 std::int64_t last_event_id);

}  // namespace broker
