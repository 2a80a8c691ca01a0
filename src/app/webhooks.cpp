// Webhooks wired for one process: see webhooks.hpp.
#include "app/webhooks.hpp"

namespace broker {

WebhookApi::WebhookApi(const StoreHandle& store, const Clock& clock, BlockingPool& pool,
                       const WebhookConfig& config)
    : service_(store.part<WebhookStore>(), &store.part<EventStore>(), clock, config),
      handlers_(service_, pool) {}

void WebhookApi::add_routes(Router& router, const std::string& base_path) {
    handlers_.add_routes(router, base_path);
}

std::unique_ptr<WebhookWorker> WebhookWorker::make(const StoreHandle& store, const Clock& clock,
                                                   const WebhookConfig& config, MetricsRegistry* registry,
                                                   const std::string& worker_id) {
    return std::make_unique<WebhookWorker>(store.part<WebhookStore>(), store.part<EventStore>(), clock,
                                           config, registry, worker_id);
}

WebhookWorker::WebhookWorker(WebhookStore& webhooks, EventStore& events, const Clock& clock,
                             const WebhookConfig& config, MetricsRegistry* registry,
                             const std::string& worker_id)
    : sender_(config),
      metrics_(registry ? std::make_unique<WebhookMetrics>(*registry) : nullptr),
      dispatcher_(webhooks, events, sender_, clock, config, worker_id, metrics_.get()) {}

}  // namespace broker
