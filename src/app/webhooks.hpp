// Webhooks wired for one process: the admin API's subscriptions (WebhookApi, in `serve` and
// `run`) and their delivery (WebhookWorker, in `worker` and `run`), on every store.
#pragma once

#include <memory>
#include <string>

#include "http/handlers/webhook_handlers.hpp"
#include "jobs/webhook_dispatcher.hpp"
#include "jobs/webhook_sender.hpp"
#include "obs/webhook_metrics.hpp"
#include "service/webhook_service.hpp"
#include "store/store_handle.hpp"

namespace broker {

class WebhookApi {
  public:
    // Everything given outlives this object.
    WebhookApi(const StoreHandle& store, const Clock& clock, BlockingPool& pool, const WebhookConfig& config);

    void add_routes(Router& router, const std::string& base_path);

  private:
    WebhookService service_;
    WebhookHandlers handlers_;
};

class WebhookWorker {
  public:
    // `registry` may be null.
    static std::unique_ptr<WebhookWorker> make(const StoreHandle& store, const Clock& clock,
                                               const WebhookConfig& config, MetricsRegistry* registry,
                                               const std::string& worker_id);

    WebhookWorker(WebhookStore& webhooks, EventStore& events, const Clock& clock, const WebhookConfig& config,
                  MetricsRegistry* registry, const std::string& worker_id);
    ~WebhookWorker() { stop(); }

    void start() { dispatcher_.start(); }
    void stop() { dispatcher_.stop(); }

  private:
    CurlWebhookSender sender_;
    std::unique_ptr<WebhookMetrics> metrics_;
    WebhookDispatcher dispatcher_;
};

}  // namespace broker
