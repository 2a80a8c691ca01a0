// What the webhook delivery counts: attempts by outcome, their latency, and each
// subscription's backlog of pending deliveries (the alert on a growing backlog reads it).
#pragma once

#include <string_view>

#include "obs/metrics.hpp"

namespace broker {

struct WebhookMetrics {
    explicit WebhookMetrics(MetricsRegistry& registry);

    // outcome: delivered (2xx), retry (failed, tried again later), failed (given up).
    CounterFamily& deliveries_total;
    Histogram delivery_latency;      // seconds per attempt, answered or not
    GaugeFamily& backlog;            // {subscription}: pending deliveries and events past the cursor
    Counter subscriptions_disabled;  // subscriptions this process disabled for failing

    void attempt(std::string_view outcome, double seconds) {
        deliveries_total.with_labels({outcome}).inc();
        delivery_latency.observe(seconds);
    }
};

}  // namespace broker
