// What the webhook delivery counts: see webhook_metrics.hpp.
#include "obs/webhook_metrics.hpp"

namespace broker {

WebhookMetrics::WebhookMetrics(MetricsRegistry& r)
    : deliveries_total(r.counter_family("broker_webhook_deliveries_total",
                                        "Webhook delivery attempts by outcome (delivered, retry, failed)",
                                        {"outcome"})),
      delivery_latency(r.histogram("broker_webhook_delivery_duration_seconds",
                                   "Time per webhook delivery attempt, answered or not")),
      backlog(r.gauge_family(
          "broker_webhook_backlog",
          "Pending webhook deliveries per subscription, with the outbox events past its cursor",
          {"subscription"})),
      subscriptions_disabled(
          r.counter("broker_webhook_subscriptions_disabled_total",
                    "Webhook subscriptions disabled because their deliveries kept failing")) {
    for (const char* outcome : {"delivered", "retry", "failed"}) deliveries_total.with_labels({outcome});
}

}  // namespace broker
