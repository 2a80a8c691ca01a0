// GET /metrics: the registry in Prometheus text format 0.0.4. Open by default; with a token
// (METRICS_TOKEN) it answers only `Authorization: Bearer <token>` (compared in constant
// time) and refuses anything else with a 401 before any work. Rendering runs on the
// blocking pool: the pool gauges may ask the store (at most once per
// METRICS_POOL_CACHE_SEC), which must not happen on an I/O thread. Concurrent scrapes share
// renders (CoalescedRender), so a flood of them costs one render at a time, not one each.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "http/router.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"

namespace broker {

// Renders shared between concurrent callers. A caller gets a render that started after it
// called (never counts older than its arrival); callers arriving while one runs wait for the
// next, which one of them runs for all. However many arrive at once, one render runs at a
// time and serves everyone who came during the one before. Thread-safe; get() blocks, so it
// belongs on the blocking pool.
class CoalescedRender {
  public:
    explicit CoalescedRender(std::function<std::string()> render) : render_(std::move(render)) {}

    // The text of a render started after this call; rethrows what that render threw.
    std::shared_ptr<const std::string> get();

    // Callers waiting for a render right now (for tests).
    std::size_t waiting() const;

  private:
    const std::function<std::string()> render_;
    mutable std::mutex mutex_;
    std::condition_variable finished_render_;
    bool rendering_ = false;
    std::uint64_t started_ = 0;   // renders started so far
    std::uint64_t finished_ = 0;  // start number of the latest finished render
    std::shared_ptr<const std::string> latest_;
    std::size_t waiting_ = 0;
};

class MetricsHandler {
  public:
    // An empty `token` leaves the route open.
    MetricsHandler(const MetricsRegistry& registry, BlockingPool& pool, std::string token = {})
        : pool_(pool), token_(std::move(token)), render_([&registry] { return registry.render(); }) {}

    // Registers GET /metrics. This object must outlive the router.
    void add_routes(Router& router);

    asio::awaitable<Response> metrics(RequestContext& ctx);

  private:
    BlockingPool& pool_;
    const std::string token_;
    CoalescedRender render_;
};

}  // namespace broker
