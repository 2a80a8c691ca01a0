// Webhooks wired for one process: see webhooks.hpp.
#include "app/webhooks.hpp"

#include <spdlog/spdlog.h>

namespace broker {

WebhookApi::WebhookApi(const StoreHandle& store, const Clock& clock, BlockingPool& pool,
                       const WebhookConfig& config) {
    auto* webhooks = store.find<WebhookStore>();
    if (!webhooks) return;
    service_ = std::make_unique<WebhookService>(*webhooks, &store.part<EventStore>(), clock, config);
    handlers_ = std::make_unique<WebhookHandlers>(*service_, pool);
}

void WebhookApi::add_routes(Router& router, const std::string& base_path) {
    if (handlers_) {
        handlers_->add_routes(router, base_path);
    } else {
        spdlog::warn("webhooks are off: this store keeps no webhook subscriptions");
    }
}

std::unique_ptr<WebhookWorker> WebhookWorker::make(const StoreHandle& store, const Clock& clock,
                                                   const WebhookConfig& config, MetricsRegistry* registry,
                                                   const std::string& worker_id) {
    auto* webhooks = store.find<WebhookStore>();
    if (!webhooks) {
        spdlog::warn("webhook delivery is off: this store keeps no webhook subscriptions");
        return nullptr;
    }
    return std::make_unique<WebhookWorker>(*webhooks, store.part<EventStore>(), clock, config, registry,
                                           worker_id);
}

WebhookWorker::WebhookWorker(WebhookStore& webhooks, EventStore& events, const Clock& clock,
                             const WebhookConfig& config, MetricsRegistry* registry,
                             const std::string& worker_id)
    : sender_(config),
      metrics_(registry ? std::make_unique<WebhookMetrics>(*registry) : nullptr),
      dispatcher_(webhooks, events, sender_, clock, config, worker_id, metrics_.get()) {}

}  // namespace broker
