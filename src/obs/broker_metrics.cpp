// Registration of the broker's named metrics, per part of the process.
#include "obs/broker_metrics.hpp"

#include <charconv>

#include "obs/process_metrics.hpp"

namespace broker {

ApiMetrics::ApiMetrics(MetricsRegistry& r)
    : allocate_total(
          r.counter_family("broker_allocate_total", "Allocation requests by outcome.", {"outcome"})),
      allocate_success(allocate_total.with_labels({"success"})),
      allocate_idempotent(allocate_total.with_labels({"idempotent"})),
      allocate_no_sandboxes(allocate_total.with_labels({"no_sandboxes"})),
      allocate_error(allocate_total.with_labels({"error"})),
      allocate_idempotent_hits(r.counter("broker_allocate_idempotent_hits_total",
                                         "Allocations answered with the participant's existing sandbox.")),
      allocate_conflicts(r.counter("broker_allocate_conflicts_total",
                                   "Races lost to a concurrent allocation and decided again (PostgreSQL: a "
                                   "racing allocation of the same participant took the key or slot first).")),
      allocation_latency(r.histogram_family("broker_allocation_latency_seconds",
                                            "Time to allocate a sandbox, by outcome.", {"outcome"})),
      allocation_latency_success(allocation_latency.with_labels({"success"})),
      allocation_latency_idempotent(allocation_latency.with_labels({"idempotent"})),
      allocation_latency_no_sandboxes(allocation_latency.with_labels({"no_sandboxes"})),
      allocation_latency_error(allocation_latency.with_labels({"error"})),
      deletion_marked_total(r.counter_family("broker_deletion_marked_total",
                                             "Mark-for-deletion requests by outcome.", {"outcome"})),
      lease_extensions_total(r.counter_family("broker_lease_extensions_total",
                                              "Lease extension requests by outcome.", {"outcome"})),
      request_latency(r.histogram_family("broker_request_latency_seconds",
                                         "HTTP request latency by method, route template and status.",
                                         {"method", "endpoint", "status"})) {
    deletion_marked_total.with_labels({"success"});
    lease_extensions_total.with_labels({"extended"});
}

void ApiMetrics::observe_request(std::string_view method, std::string_view endpoint, int status,
                                 std::chrono::steady_clock::duration latency) {
    char buf[12];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, status);
    const std::string_view status_text(buf, static_cast<std::size_t>(end - buf));
    request_latency.with_labels({method, endpoint, status_text}).observe_duration(latency);
}

JobMetrics::JobMetrics(MetricsRegistry& r)
    : sync_total(r.counter_family("broker_sync_total", "Sync job runs by outcome.", {"outcome"})),
      sync_sandboxes_synced(
          r.counter("broker_sync_sandboxes_synced_total", "Sandboxes seen at the provider by sync runs.")),
      sync_sandboxes_stale(r.counter("broker_sync_sandboxes_stale_total",
                                     "Sandboxes marked stale because the provider no longer lists them.")),
      sync_duration(
          r.histogram("broker_sync_duration_seconds", "Duration of sync job runs.", kJobDurationBuckets)),
      cleanup_total(r.counter_family("broker_cleanup_total", "Cleanup job runs by outcome.", {"outcome"})),
      cleanup_deleted(r.counter("broker_cleanup_deleted_total", "Sandboxes deleted at the provider.")),
      cleanup_failed(
          r.counter("broker_cleanup_failed_total", "Sandbox deletions that failed at the provider.")),
      cleanup_duration(r.histogram("broker_cleanup_duration_seconds", "Duration of cleanup job runs.",
                                   kJobDurationBuckets)),
      expiry_total(r.counter_family("broker_expiry_total", "Auto-expiry job runs by outcome.", {"outcome"})),
      expiry_orphaned(r.counter("broker_expiry_orphaned_total",
                                "Allocations expired past lab duration plus grace period.")),
      niosxaas_cleanup_total(r.counter_family(
          "broker_niosxaas_cleanup_total", "NIOSXaaS universal-service clean-ups by outcome.", {"outcome"})),
      niosxaas_services_deleted(
          r.counter("broker_niosxaas_services_deleted_total", "NIOSXaaS universal services deleted.")),
      job_last_success(r.gauge_family("broker_job_last_success_timestamp_seconds",
                                      "Unix time of the last successful run of each job in this process "
                                      "(0: none yet).",
                                      {"broker_job"})),
      provider_calls_total(
          r.counter_family("broker_provider_calls_total",
                           "HTTP calls to the provider API by operation and outcome (ok, "
                           "client_error, server_error, bad_response, throttled, timeout, "
                           "transport_error, circuit_open: refused by the breaker, not sent).",
                           {"operation", "outcome"})),
      circuit_breaker_state(r.gauge_family("broker_circuit_breaker_state",
                                           "Circuit breaker state as of its last call: 0 closed, 1 open, 2 "
                                           "half-open.",
                                           {"breaker"})),
      provider_concurrency_limit(r.gauge("broker_provider_concurrency_limit",
                                         "CSP calls allowed in flight at once, as the adaptive limit now "
                                         "stands.")),
      provider_calls_in_flight(r.gauge("broker_provider_calls_in_flight", "CSP calls in flight now.")),
      provider_latency(r.histogram("broker_provider_latency_seconds",
                                   "Duration of CSP calls (answered, refused or timed out).",
                                   {0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60})) {
    // Job outcomes that dashboards graph as rates exist from the start, at zero.
    for (auto* family : {&sync_total, &cleanup_total, &expiry_total}) {
        family->with_labels({"success"});
        family->with_labels({"error"});
    }
}

void JobMetrics::expect_job(std::string_view job) {
    job_last_success.with_labels({job});
}

void JobMetrics::job_succeeded(std::string_view job, UnixSeconds at) {
    job_last_success.with_labels({job}).set(static_cast<double>(at));
}

void JobMetrics::provider_call(std::string_view operation, std::string_view outcome) {
    provider_calls_total.with_labels({operation, outcome}).inc();
}

void JobMetrics::set_breaker_state(std::string_view breaker, BreakerState state) {
    circuit_breaker_state.with_labels({breaker}).set(static_cast<double>(state));
}

BrokerMetrics::BrokerMetrics(MetricsRegistry& r, const Clock& clock, BrokerMetricsOptions options) {
    if (options.api) api_ = std::make_unique<ApiMetrics>(r);
    if (options.jobs) jobs_ = std::make_unique<JobMetrics>(r);
    if (options.pool_counts) {
        pool_cache_ = std::make_shared<PoolGaugeCache>(clock, options.pool_cache_max_age,
                                                       std::move(options.pool_counts));
        // The registry outlives nothing it is given: the collector shares the cache's ownership.
        r.add_collector([cache = pool_cache_] { return cache->collect(); });
    }
    if (options.process_metrics) r.add_collector(collect_process_metrics);
}

}  // namespace broker
