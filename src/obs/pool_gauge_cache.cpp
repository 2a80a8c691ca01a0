// Cached pool counts behind the broker_pool_* gauges.
#include "obs/pool_gauge_cache.hpp"

#include <string>

namespace broker {

PoolGaugeCache::PoolGaugeCache(const Clock& clock, std::chrono::seconds max_age, Source source)
    : clock_(clock), max_age_(max_age), source_(std::move(source)) {}

std::optional<StatusCounts> PoolGaugeCache::get() {
    std::lock_guard lock(mutex_);
    const auto now = clock_.steady_now();
    // Failed attempts also wait out max_age: a store that is down is not hammered by scrapes.
    if (!attempted_at_ || now - *attempted_at_ >= max_age_) {
        attempted_at_ = now;
        ++calls_;
        try {
            counts_ = source_();
        } catch (const std::exception&) {
            ++failures_;
        }
    }
    return counts_;
}

std::uint64_t PoolGaugeCache::source_calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
}

std::uint64_t PoolGaugeCache::source_failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

std::vector<MetricFamily> PoolGaugeCache::collect() {
    std::vector<MetricFamily> families;
    const auto counts = get();
    if (!counts) return families;
    auto add = [&](std::string_view suffix, std::int64_t value) {
        families.push_back(MetricFamily{"broker_pool_" + std::string(suffix),
                                        "Sandboxes in the pool with status " + std::string(suffix) + ".",
                                        MetricType::gauge,
                                        {MetricSample{"", {}, static_cast<double>(value)}}});
    };
    for (auto status : kAllStatuses) {
        if (status != SandboxStatus::deleted) add(to_string(status), (*counts)[status]);
    }
    families.push_back(MetricFamily{"broker_pool_total", "Sandboxes in the pool (deleted history excluded).",
                                    MetricType::gauge,
                                    {MetricSample{"", {}, static_cast<double>(counts->total())}}});
    return families;
}

}  // namespace broker
