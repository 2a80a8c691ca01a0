// GET /metrics: the registry in Prometheus text format 0.0.4, no authentication. Rendering
// runs on the blocking pool: the pool gauges may ask the store (at most once per
// METRICS_POOL_CACHE_SEC), which must not happen on an I/O thread.
#pragma once

#include "http/router.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"

namespace broker {

class MetricsHandler {
  public:
    MetricsHandler(const MetricsRegistry& registry, BlockingPool& pool) : registry_(registry), pool_(pool) {}

    // Registers GET /metrics. This object must outlive the router.
    void add_routes(Router& router);

    asio::awaitable<Response> metrics(RequestContext& ctx);

  private:
    const MetricsRegistry& registry_;
    BlockingPool& pool_;
};

}  // namespace broker
