// GET /metrics: the registry in Prometheus text format 0.0.4. Open by default; with a token
// (METRICS_TOKEN) it answers only `Authorization: Bearer <token>` (compared in constant
// time) and refuses anything else with a 401 before any work. Rendering runs on the
// blocking pool: the pool gauges may ask the store (at most once per
// METRICS_POOL_CACHE_SEC), which must not happen on an I/O thread.
#pragma once

#include <string>

#include "http/router.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"

namespace broker {

class MetricsHandler {
  public:
    // An empty `token` leaves the route open.
    MetricsHandler(const MetricsRegistry& registry, BlockingPool& pool, std::string token = {})
        : registry_(registry), pool_(pool), token_(std::move(token)) {}

    // Registers GET /metrics. This object must outlive the router.
    void add_routes(Router& router);

    asio::awaitable<Response> metrics(RequestContext& ctx);

  private:
    const MetricsRegistry& registry_;
    BlockingPool& pool_;
    const std::string token_;
};

}  // namespace broker
