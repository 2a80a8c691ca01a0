#include "http/edge.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "http/handlers/ops_handlers.hpp"
#include "http/middleware/access_log.hpp"
#include "http/middleware/cors.hpp"
#include "http/middleware/rate_limit.hpp"
#include "http/middleware/request_metrics.hpp"
#include "http/middleware/security_headers.hpp"
#include "http/openapi/openapi_check.hpp"

namespace broker {
namespace {

// The separate metrics listener is for a scraper or two, not for load.
constexpr std::size_t kMetricsMaxConnections = 32;
constexpr std::string_view kMetricsPath = "GET /metrics:";

BrokerMetricsOptions metrics_options(const Config& config, Store& store, Edge::Role role) {
    BrokerMetricsOptions options;
    options.api = role != Edge::Role::jobs;
    options.jobs = role != Edge::Role::api;
    // The pool gauges come from the API's processes: a worker's scrape would count the same
    // store again (on DynamoDB, index queries per scrape).
    if (role != Edge::Role::jobs) options.pool_counts = [&store] { return store.count_by_status(); };
    options.pool_cache_max_age = config.metrics_pool_cache;
    return options;
}

}  // namespace

Edge::Edge(const Config& config, const Clock& clock, Store& store, Role role)
    : config_(config),
      clock_(clock),
      trusted_(TrustedProxies::parse(config.trusted_proxies)),
      metrics_(registry_, clock, metrics_options(config, store, role)),
      docs_(config.base_path),
      auth_(AuthOptions::from(config), clock),
      dashboard_(auth_, config.base_path, config.dashboard_cookie_secure) {}

void Edge::add_routes(Router& router, BlockingPool& pool) {
    metrics_handler_ = std::make_unique<MetricsHandler>(registry_, pool, config_.metrics_token);
    metrics_handler_->add_routes(config_.metrics_listen.empty() ? router : metrics_router_);
    docs_.add_routes(router);
    dashboard_.add_routes(router);
}

void Edge::add_metrics_listener_routes(BlockingPool& pool) {
    metrics_handler_ = std::make_unique<MetricsHandler>(registry_, pool, config_.metrics_token);
    metrics_handler_->add_routes(metrics_router_);
}

void Edge::add_middlewares(Pipeline& pipeline, const Router& router) {
    auto security = std::make_unique<SecurityHeaders>();
    security->relax_csp_for(docs_.docs_path(), docs_.docs_csp());
    for (const auto& path : dashboard_.page_paths())
        security->relax_csp_for(path, std::string(DashboardPage::kCsp));
    pipeline.use(std::move(security));
    // Before the rate limit: a preflight is the browser's, not the participant's, request.
    pipeline.use(std::make_unique<Cors>(CorsPolicy(config_.cors_allowed_origins)));
    if (config_.rate_limit_enabled) {
        RateLimitOptions options;
        options.rps = config_.rate_limit_rps;
        options.burst = config_.rate_limit_burst;
        limiter_ = std::make_unique<RateLimiter>(clock_, options);
        pipeline.use(std::make_unique<RateLimit>(*limiter_, trusted_,
                                                 std::vector<std::string>{"/healthz", "/readyz", "/metrics"}));
    }
    pipeline.use(std::make_unique<RequestMetrics>(*metrics_.api(), router));
    // Last, so it sees the status and headers every other middleware settled on.
    pipeline.use(std::make_unique<AccessLog>(clock_, config_.access_log_refused_per_sec, suppressed_lines(),
                                             &router));

    for (const auto& mismatch : route_document_mismatches(router, docs_.document())) {
        // /metrics is documented, and served by the metrics listener when there is one.
        if (!config_.metrics_listen.empty() && mismatch.starts_with(kMetricsPath)) continue;
        spdlog::error("OpenAPI document out of date: {}", mismatch);
    }
}

Counter Edge::suppressed_lines() {
    if (!suppressed_) {
        suppressed_ =
            registry_.counter("broker_access_log_suppressed_total",
                              "Access-log lines of refused anonymous requests left out by the rate limit "
                              "(ACCESS_LOG_REFUSED_PER_SEC)");
    }
    return *suppressed_;
}

std::optional<asio::ip::tcp::endpoint> Edge::start_metrics_listener() {
    if (config_.metrics_listen.empty()) return std::nullopt;
    const auto where = parse_listen_address(config_.metrics_listen);
    OpsHandlers::add_liveness_route(metrics_router_);
    metrics_pipeline_ = std::make_unique<Pipeline>(metrics_router_, no_tokens_);
    metrics_pipeline_->use(std::make_unique<SecurityHeaders>());
    metrics_pipeline_->use(
        std::make_unique<AccessLog>(clock_, config_.access_log_refused_per_sec, suppressed_lines()));
    ServerOptions options = ServerOptions::from(config_);
    options.threads = 1;
    options.max_connections = kMetricsMaxConnections;
    metrics_server_ = std::make_unique<HttpServer>(options, *metrics_pipeline_);
    try {
        return metrics_server_->start(where);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on METRICS_LISTEN=" + config_.metrics_listen + ": " +
                                 e.code().message());
    }
}

void Edge::stop_metrics_listener() {
    if (metrics_server_) metrics_server_->stop();
}

}  // namespace broker
