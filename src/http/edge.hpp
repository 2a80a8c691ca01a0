// The edge of the API server, wired in one place for main.cpp: the metrics registry and the
// broker's named metrics (pool gauges from the store, cached), /metrics, the OpenAPI document
// and docs page, authentication (tokens, dashboard sessions) and the /dashboard page, the rate
// limiter, and the middlewares around every handler in their order:
// security headers, CORS, rate limit, request metrics, access log.
//
// /metrics is served on the API's port, or — with METRICS_LISTEN — only on a listener of its
// own (one I/O thread, a few connections), so scrapes and floods of them never compete with
// allocations; either way behind METRICS_TOKEN when that is set. That listener also answers
// /healthz (never behind a token), in every role: it is the worker's only port.
//
// Two steps, because handlers count into the metrics (so those exist first) and the request
// metrics resolve label sets per route (so every route must be registered before).
#pragma once

#include <memory>
#include <optional>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "http/auth.hpp"
#include "http/client_key.hpp"
#include "http/dashboard/dashboard_page.hpp"
#include "http/handlers/docs_handlers.hpp"
#include "http/handlers/metrics_handler.hpp"
#include "http/pipeline.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "obs/broker_metrics.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store.hpp"

namespace broker {

class Edge {
  public:
    // What the process does, which decides the metrics it exports: a `serve` process the
    // API's, a `worker` the jobs' and the provider's, `run` both.
    enum class Role { api, jobs, api_and_jobs };

    // Throws ConfigError for a TRUSTED_PROXIES entry it cannot read.
    Edge(const Config& config, const Clock& clock, Store& store, Role role);

    MetricsRegistry& registry() { return registry_; }
    BrokerMetrics& metrics() { return metrics_; }

    // How requests authenticate: what the API's pipeline is built with.
    const Authenticator& authenticator() const { return auth_; }

    // GET /metrics (unless METRICS_LISTEN is set), {base}/openapi.json, {base}/docs, the
    // /dashboard page and its session routes. `pool` runs the scrape.
    void add_routes(Router& router, BlockingPool& pool);

    // A process without an API port (the worker): /metrics on the metrics listener alone.
    // Instead of add_routes; `pool` runs the scrape.
    void add_metrics_listener_routes(BlockingPool& pool);

    // The middlewares, after every route is registered. Logs an error for each route the
    // OpenAPI document lacks (and each documented operation that is not served).
    void add_middlewares(Pipeline& pipeline, const Router& router);

    // With METRICS_LISTEN: starts the metrics listener and returns the endpoint it bound;
    // nothing when /metrics is on the API's port. Throws ConfigError for an unreadable
    // address, std::runtime_error naming METRICS_LISTEN when it cannot bind. Call after add_routes.
    std::optional<asio::ip::tcp::endpoint> start_metrics_listener();
    // Stops it (no-op without one). Call from a non-I/O thread.
    void stop_metrics_listener();

  private:
    // broker_access_log_suppressed_total, registered on first use (both listeners share it).
    Counter suppressed_lines();

    const Config& config_;
    const Clock& clock_;
    TrustedProxies trusted_;
    MetricsRegistry registry_;
    BrokerMetrics metrics_;
    DocsHandlers docs_;
    Authenticator auth_;
    DashboardPage dashboard_;
    std::unique_ptr<MetricsHandler> metrics_handler_;
    std::unique_ptr<RateLimiter> limiter_;
    // The separate metrics listener: its own routes and pipeline (no tokens: the handler
    // checks METRICS_TOKEN itself).
    Router metrics_router_;
    Authenticator no_tokens_{"", ""};
    std::unique_ptr<Pipeline> metrics_pipeline_;
    std::unique_ptr<HttpServer> metrics_server_;
    std::optional<Counter> suppressed_;
};

}  // namespace broker
