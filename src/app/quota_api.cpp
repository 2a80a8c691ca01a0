// Wiring of reservations and track limits: see quota_api.hpp.
#include "app/quota_api.hpp"

#include <mutex>
#include <optional>

namespace broker {

// The gauges' families, kept for max_age on the clock so scrapes do not count the pool each.
struct QuotaApi::Figures {
    std::shared_ptr<QuotaService> service;
    const Clock* clock = nullptr;
    std::chrono::seconds max_age{0};
    std::mutex mutex;
    std::optional<std::vector<MetricFamily>> families;
    UnixSeconds read_at = 0;

    std::vector<MetricFamily> collect() {
        std::lock_guard lock(mutex);
        const UnixSeconds now = clock->now();
        if (!families || now - read_at >= max_age.count()) {
            try {
                families = service->collect();
                read_at = now;
            } catch (const std::exception&) {
                // The store is down: the last figures stay (none at all before the first).
                if (!families) return {};
            }
        }
        return *families;
    }

    void forget() {
        std::lock_guard lock(mutex);
        families.reset();
    }
};

QuotaApi::QuotaApi(Store& store, const Clock& clock, BlockingPool& pool, MetricsRegistry& registry,
                   std::chrono::seconds figures_max_age)
    : service_(std::make_shared<QuotaService>(store, clock)),
      figures_(std::make_shared<Figures>()),
      handlers_(*service_, pool, [figures = figures_] { figures->forget(); }) {
    figures_->service = service_;
    figures_->clock = &clock;
    figures_->max_age = figures_max_age;
    registry.add_collector([figures = figures_] { return figures->collect(); });
}

}  // namespace broker
