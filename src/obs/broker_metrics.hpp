// The broker's named metrics, with the original's names and labels so existing dashboards
// keep working. One instance is built on a registry per process and handed to the parts that
// count things; label sets known in advance are resolved here once, so recording them is a
// relaxed atomic add.
//
// Each process exports what it updates: the API's metrics (allocation, return, requests) where
// the API is served (`run`, `serve`), the job and provider metrics where the jobs run (`run`,
// `worker`). A series that stays zero forever in a process that never does the thing would
// read as "nothing happened" on a dashboard that sums over every process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "core/breaker_state.hpp"
#include "core/clock.hpp"
#include "core/sandbox.hpp"
#include "obs/metrics.hpp"
#include "obs/pool_gauge_cache.hpp"

namespace broker {

struct BrokerMetricsOptions {
    bool api = true;   // allocation, return and request metrics: the process serves the API
    bool jobs = true;  // job, provider and breaker metrics: the process runs the jobs
    // Counts by status for the broker_pool_* gauges; no pool gauges when empty.
    std::function<StatusCounts()> pool_counts{};
    std::chrono::seconds pool_cache_max_age{60};  // METRICS_POOL_CACHE_SEC
    bool process_metrics = true;                   // process_* from /proc
};

// Buckets of the job duration histograms: jobs take seconds to minutes, not milliseconds.
inline const std::vector<double> kJobDurationBuckets = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

// What the API counts.
struct ApiMetrics {
    explicit ApiMetrics(MetricsRegistry& registry);

    // Allocation. outcome: success, idempotent, no_sandboxes, error.
    CounterFamily& allocate_total;
    Counter allocate_success, allocate_idempotent, allocate_no_sandboxes, allocate_error;
    Counter allocate_idempotent_hits;
    // Races an allocation lost to a concurrent one and was decided again (the store reports
    // them: AllocateResult::conflicts).
    Counter allocate_conflicts;
    HistogramFamily& allocation_latency;  // {outcome}
    Histogram allocation_latency_success, allocation_latency_idempotent, allocation_latency_no_sandboxes,
        allocation_latency_error;

    // Return. outcome: success, idempotent, not_owner, expired, not_found, error.
    CounterFamily& deletion_marked_total;

    // Lease extension. outcome: extended, capped, limit, not_allocated, not_owner, not_found,
    // invalid, error.
    CounterFamily& lease_extensions_total;

    // HTTP. endpoint is the route template (`/v1/sandboxes/{id}`), never the raw path,
    // so the number of series stays bounded.
    HistogramFamily& request_latency;  // {method, endpoint, status}

    // Records one request; resolves the label set (a shared-lock map look-up).
    void observe_request(std::string_view method, std::string_view endpoint, int status,
                         std::chrono::steady_clock::duration latency);
};

// What the background jobs and the provider clients count.
struct JobMetrics {
    explicit JobMetrics(MetricsRegistry& registry);

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
    GaugeFamily& job_last_success;  // {broker_job}: unix seconds; 0 until the first success here

    // Provider calls, one per HTTP exchange (retries count each). operation: list, delete,
    // niosxaas_sign_in, niosxaas_account_switch, niosxaas_list_services,
    // niosxaas_delete_service; outcome: see ProviderCallOutcome (provider/provider_observer.hpp).
    CounterFamily& provider_calls_total;
    GaugeFamily& circuit_breaker_state;  // {breaker}: see BreakerState
    // The adaptive concurrency limit toward the provider (provider/adaptive_limiter).
    Gauge provider_concurrency_limit;
    Gauge provider_calls_in_flight;
    Histogram provider_latency;  // seconds per CSP call, answered or not

    // A job this process runs: its last-success series exists (at 0) from the start.
    void expect_job(std::string_view job);
    void job_succeeded(std::string_view job, UnixSeconds at);
    void provider_call(std::string_view operation, std::string_view outcome);
    void set_breaker_state(std::string_view breaker, BreakerState state);
};

class BrokerMetrics {
  public:
    BrokerMetrics(MetricsRegistry& registry, const Clock& clock, BrokerMetricsOptions options = {});

    // Null when the process does not do that part (see BrokerMetricsOptions).
    ApiMetrics* api() { return api_.get(); }
    JobMetrics* jobs() { return jobs_.get(); }

    // The pool gauges' cache; null when no pool_counts source was given.
    PoolGaugeCache* pool_cache() const { return pool_cache_.get(); }

  private:
    std::unique_ptr<ApiMetrics> api_;
    std::unique_ptr<JobMetrics> jobs_;
    std::shared_ptr<PoolGaugeCache> pool_cache_;
};

}  // namespace broker
