// The webhook delivery's decisions, as pure functions of the state and the settings: when a
// failed attempt is tried again (exponential backoff with jitter, for up to
// WEBHOOK_MAX_RETRY_SEC, then the delivery is failed) and when a subscription that keeps
// failing is disabled.
#pragma once

#include <optional>
#include <string>

#include "jobs/webhook_config.hpp"
#include "store/webhook_store.hpp"

namespace broker {

struct RetryDecision {
    DeliveryStatus outcome = DeliveryStatus::pending;  // pending: retry at next_attempt_at; or failed
    UnixSeconds next_attempt_at = 0;
};

// After a failed attempt at `delivery` (its `attempts` not counting this one) at `now`.
// `jitter` in [0, 1] picks the wait between half and all of the backoff.
RetryDecision after_failed_attempt(const WebhookDelivery& delivery, UnixSeconds now,
                                   const WebhookConfig& config, double jitter);

// Why the subscription should be disabled now (every attempt failing for disable_after, or
// disable_after_failures failed deliveries in a row), or nothing.
std::optional<std::string> disable_reason(const WebhookSubscription& subscription, UnixSeconds now,
                                          const WebhookConfig& config);

}  // namespace broker
