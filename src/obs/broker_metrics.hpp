// The broker's named metrics, with the original's names and labels so existing dashboards
// keep working. One instance is built on a registry in main.cpp and handed to the parts
// that count things; label sets known in advance are resolved here once, so recording
// them is a relaxed atomic add.
#pragma once

#include "core/breaker_state.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "core/clock.hpp"
#include "core/sandbox.hpp"
#include "obs/metrics.hpp"
#include "obs/pool_gauge_cache.hpp"

namespace broker {

struct BrokerMetricsOptions {
    // Counts by status for the broker_pool_* gauges; no pool gauges when empty.
    std::function<StatusCounts()> pool_counts{};
    std::chrono::seconds pool_cache_max_age{60};  // METRICS_POOL_CACHE_SEC
    bool process_metrics = true;                   // process_* from /proc
};

// Buckets of the job duration histograms: jobs take seconds to minutes, not milliseconds.
inline const std::vector<double> kJobDurationBuckets = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};


struct BrokerMetrics {
    BrokerMetrics(MetricsRegistry& registry, const Clock& clock, BrokerMetricsOptions options = {});

    // Allocation. outcome: success, idempotent, no_sandboxes, error.
    CounterFamily& allocate_total;
    Counter allocate_success, allocate_idempotent, allocate_no_sandboxes, allocate_error;
    Counter allocate_idempotent_hits;
    Counter allocate_conflicts;  // lost a compare-and-set race for a candidate, retried
    HistogramFamily& allocation_latency;  // {outcome}
    Histogram allocation_latency_success, allocation_latency_idempotent, allocation_latency_no_sandboxes,
        allocation_latency_error;

    // Return. outcome: success, idempotent, not_owner, expired, not_found, error.
    CounterFamily& deletion_marked_total;

    // Jobs. outcome of a run: success, error (skipped when another worker holds the lease).
    CounterFamily& sync_total;
    Counter sync_sandboxes_synced, sync_sandboxes_stale;
    Histogram sync_duration;
    CounterFamily& cleanup_total;
    Counter cleanup_deleted, cleanup_failed;
    Histogram cleanup_duration;
    CounterFamily& expiry_total;
    Counter expiry_orphaned;
    CounterFamily& niosxaas_cleanup_total;  // outcome: success, failure, skipped, shadow
    Counter niosxaas_services_deleted;

    // Provider calls. operation: list, delete, niosxaas_*; outcome: success, error,
    // timeout, rate_limited, circuit_open.
    CounterFamily& provider_calls_total;
    GaugeFamily& circuit_breaker_state;  // {breaker}: see BreakerState

    // HTTP. endpoint is the route template (`/v1/sandboxes/{id}`), never the raw path,
    // so the number of series stays bounded.
    HistogramFamily& request_latency;  // {method, endpoint, status}

    // Records one request; resolves the label set (a shared-lock map look-up).
    void observe_request(std::string_view method, std::string_view endpoint, int status,
                         std::chrono::steady_clock::duration latency);
    void set_breaker_state(std::string_view breaker, BreakerState state);

    // The pool gauges' cache; null when no pool_counts source was given.
    PoolGaugeCache* pool_cache() const { return pool_cache_.get(); }

private:
    std::shared_ptr<PoolGaugeCache> pool_cache_;
};

}  // namespace broker
