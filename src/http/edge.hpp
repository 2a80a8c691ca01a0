// The edge of the API server, wired in one place for main.cpp: the metrics registry and the
// broker's named metrics (pool gauges from the store, cached), /metrics, the OpenAPI document
// and docs page, the rate limiter, and the middlewares around every handler in their order:
// security headers, CORS, rate limit, request metrics, access log.
//
// Two steps, because handlers count into the metrics (so those exist first) and the request
// metrics resolve label sets per route (so every route must be registered before).
#pragma once

#include <memory>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "http/handlers/docs_handlers.hpp"
#include "http/handlers/metrics_handler.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "obs/broker_metrics.hpp"
#include "obs/client_key.hpp"
#include "obs/metrics.hpp"
#include "obs/rate_limiter.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store.hpp"

namespace broker {

class Edge {
  public:
    // Throws ConfigError for a TRUSTED_PROXIES entry it cannot read.
    Edge(const Config& config, const Clock& clock, Store& store);

    MetricsRegistry& registry() { return registry_; }
    BrokerMetrics& metrics() { return metrics_; }

    // GET /metrics, {base}/openapi.json, {base}/docs. `pool` runs the scrape.
    void add_routes(Router& router, BlockingPool& pool);

    // The middlewares, after every route is registered. Logs an error for each route the
    // OpenAPI document lacks (and each documented operation that is not served).
    void add_middlewares(Pipeline& pipeline, const Router& router);

  private:
    const Config& config_;
    const Clock& clock_;
    TrustedProxies trusted_;
    MetricsRegistry registry_;
    BrokerMetrics metrics_;
    DocsHandlers docs_;
    std::unique_ptr<MetricsHandler> metrics_handler_;
    std::unique_ptr<RateLimiter> limiter_;
};

}  // namespace broker
