// The pool gauges (broker_pool_*) come from a count by status in the store. A scrape must
// never turn into a table scan per scrape, so the count is cached and re-read at most once
// per `max_age` (METRICS_POOL_CACHE_SEC), measured on the injected Clock.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "core/sandbox.hpp"
#include "obs/exposition.hpp"

namespace broker {

class PoolGaugeCache {
public:
    using Source = std::function<StatusCounts()>;

    PoolGaugeCache(const Clock& clock, std::chrono::seconds max_age, Source source);

    // The cached counts, re-read from the source when older than max_age. When the source
    // throws, the last good counts are kept (and the next call tries again); empty when
    // there never were any.
    std::optional<StatusCounts> get();
    // How often the source was asked, failures included.
    std::uint64_t source_calls() const;
    std::uint64_t source_failures() const;

    // broker_pool_{available,allocated,pending_deletion,stale,deletion_failed,total}.
    std::vector<MetricFamily> collect();

private:
    const Clock& clock_;
    std::chrono::seconds max_age_;
    Source source_;
    mutable std::mutex mutex_;  // also makes concurrent scrapes share one source call
    std::optional<StatusCounts> counts_;
    std::optional<std::chrono::steady_clock::time_point> attempted_at_;
    std::uint64_t calls_ = 0;
    std::uint64_t failures_ = 0;
};

}  // namespace broker
