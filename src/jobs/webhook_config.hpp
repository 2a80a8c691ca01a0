// The webhook delivery's settings (WEBHOOK_*), read once at start-up by the API (which
// checks new subscriptions' targets) and the worker (which delivers).
#pragma once

#include <chrono>
#include <cstdint>

#include "core/env_value.hpp"

namespace broker {

struct WebhookConfig {
    // False: refuse targets that resolve to loopback, private or link-local addresses, when a
    // subscription is made and at every delivery.
    bool allow_private_targets = true;
    std::chrono::seconds timeout{10};            // one delivery attempt, connect included
    int max_in_flight = 4;                       // attempts in flight per subscription
    std::chrono::seconds max_retry{86400};       // a delivery is retried this long, then failed
    std::chrono::milliseconds retry_base{5000};  // first retry's wait; doubles per attempt, jittered
    std::chrono::seconds retry_cap{3600};        // no retry waits longer
    // A subscription whose every attempt failed for this long is disabled...
    std::chrono::seconds disable_after{86400};
    // ...as is one with this many failed deliveries in a row (0: never for this reason).
    int disable_after_failures = 5;
    std::chrono::milliseconds poll{1000};  // how often the worker looks for new events and due retries
};

// Reads and checks the settings; a value out of range is a ConfigError naming it.
WebhookConfig load_webhook_config(const EnvLookup& env);

}  // namespace broker
