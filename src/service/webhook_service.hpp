// Webhook subscriptions through the admin API: made with a target that passes the checks
// (http/https, and no internal address unless private targets are allowed) and a secret the
// broker generates and shows once; listed and read without it; removed; and their
// deliveries paged and sent again on request. Delivery itself is the worker's
// (jobs/webhook_dispatcher.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "jobs/webhook_config.hpp"
#include "service/admin_service.hpp"
#include "store/webhook_store.hpp"

namespace broker {

struct NewWebhook {
    std::string url;
    std::vector<std::string> event_types;  // {"*"} for every type
    std::string description;
};

inline constexpr int kMaxDeliveryPage = 500;

class WebhookService {
  public:
    // The stores and clock outlive this object; `events` (the outbox) may be null for a store
    // without one.
    WebhookService(WebhookStore& store, EventStore* events, const Clock& clock, WebhookConfig config);

    // Why the request cannot be a subscription (its URL, types or description), or nothing.
    // Resolves the URL's host when private targets are refused.
    std::optional<Refusal> check(const NewWebhook& request) const;

    // Checks the request, then stores the subscription with a new id and secret; the answer
    // is the only place the secret appears. Its cursor starts at the outbox's newest event:
    // a new subscription receives what happens from now on.
    Checked<WebhookSubscription> create(const NewWebhook& request);
    std::vector<WebhookSubscription> list();
    std::optional<WebhookSubscription> get(const std::string& id);
    bool remove(const std::string& id);
    // Enables a disabled subscription again (its failure record cleared); nothing when unknown.
    std::optional<WebhookSubscription> enable(const std::string& id);

    // A page of the subscription's deliveries (newest first); nothing when it does not exist.
    std::optional<DeliveryPage> deliveries(const std::string& id, std::optional<std::int64_t> before,
                                           int limit);
    std::optional<WebhookDelivery> redeliver(const std::string& id, std::int64_t delivery_id);

    static Checked<int> parse_limit(const std::optional<std::string>& text);
    static Checked<std::int64_t> parse_delivery_id(std::string_view text);

  private:
    WebhookStore& store_;
    EventStore* events_;
    const Clock& clock_;
    WebhookConfig config_;
};

// "wh_" + 24 hex digits from RAND_bytes.
std::string new_webhook_id();

// Whether `type` is an event type a subscription may name: "*", or lower-case words with
// dots and underscores ("sandbox.allocated").
bool valid_event_type(std::string_view type);

}  // namespace broker
