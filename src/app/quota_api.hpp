// Reservations and track limits wired for one API process: the QuotaService over the store,
// its admin routes, and its gauges in the metrics registry (figures re-read at most once per
// METRICS_POOL_CACHE_SEC, and after every change made through this process).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "http/handlers/quota_handlers.hpp"
#include "obs/metrics.hpp"
#include "service/quota_service.hpp"

namespace broker {

class QuotaApi {
  public:
    // Everything given outlives this object; the registry's collector shares the figures.
    QuotaApi(Store& store, const Clock& clock, BlockingPool& pool, MetricsRegistry& registry,
             std::chrono::seconds figures_max_age);

    void add_routes(Router& router, const std::string& base_path) { handlers_.add_routes(router, base_path); }
    QuotaService& service() { return *service_; }

  private:
    struct Figures;

    // Shared with the registry's collector, which may be called until the registry goes.
    std::shared_ptr<QuotaService> service_;
    std::shared_ptr<Figures> figures_;
    QuotaHandlers handlers_;
};

}  // namespace broker
