// The broker's named metrics and the cached pool gauges.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "core/clock.hpp"
#include "http/handlers/participant_metrics.hpp"
#include "obs/broker_metrics.hpp"

namespace broker {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

StatusCounts counts(std::int64_t available, std::int64_t allocated, std::int64_t deleted = 0) {
    StatusCounts c;
    c[SandboxStatus::available] = available;
    c[SandboxStatus::allocated] = allocated;
    c[SandboxStatus::pending_deletion] = 1;
    c[SandboxStatus::stale] = 2;
    c[SandboxStatus::deletion_failed] = 3;
    c[SandboxStatus::deleted] = deleted;
    return c;
}

TEST(ObsBrokerMetrics, ExposesTheOriginalNames) {
    MetricsRegistry registry;
    ManualClock clock;
    BrokerMetrics m(registry, clock, {.process_metrics = false});
    ApiMetrics& api = *m.api();
    JobMetrics& jobs = *m.jobs();
    api.allocate_success.inc(3);
    api.allocate_idempotent_hits.inc();
    api.allocation_latency_success.observe(0.002);
    api.deletion_marked_total.with_labels({"not_owner"}).inc();
    jobs.provider_call("delete", "server_error");
    jobs.set_breaker_state("csp", BreakerState::open);
    api.observe_request("POST", "/v1/allocate", 201, std::chrono::milliseconds(30));
    jobs.sync_duration.observe(12);
    const std::string text = registry.render();

    EXPECT_TRUE(has_line(text, "broker_allocate_total{outcome=\"success\"} 3"));
    EXPECT_TRUE(has_line(text, "broker_allocate_total{outcome=\"no_sandboxes\"} 0"));
    EXPECT_TRUE(has_line(text, "broker_allocate_idempotent_hits_total 1"));
    EXPECT_TRUE(has_line(text, "broker_allocate_conflicts_total 0"));
    EXPECT_TRUE(has_line(text, "broker_allocation_latency_seconds_bucket{outcome=\"success\",le=\"0.005\"} 1"));
    EXPECT_TRUE(has_line(text, "broker_deletion_marked_total{outcome=\"not_owner\"} 1"));
    EXPECT_TRUE(has_line(text, "broker_sync_total{outcome=\"success\"} 0"));
    EXPECT_TRUE(has_line(text, "broker_cleanup_total{outcome=\"error\"} 0"));
    EXPECT_TRUE(has_line(text, "broker_expiry_total{outcome=\"success\"} 0"));
    EXPECT_TRUE(
        has_line(text, "broker_provider_calls_total{operation=\"delete\",outcome=\"server_error\"} 1"));
    EXPECT_TRUE(has_line(text, "broker_circuit_breaker_state{breaker=\"csp\"} 1"));
    EXPECT_NE(
        text.find(
            "# HELP broker_circuit_breaker_state Circuit breaker state as of its last call: 0 closed, 1 "
            "open, 2 half-open."),
        std::string::npos);
    EXPECT_TRUE(has_line(
        text, "broker_request_latency_seconds_bucket{method=\"POST\",endpoint=\"/v1/allocate\",status=\"201\",le=\"0.05\"} 1"));
    EXPECT_TRUE(has_line(text, "broker_request_latency_seconds_count{method=\"POST\",endpoint=\"/v1/allocate\",status=\"201\"} 1"));
    EXPECT_TRUE(has_line(text, "broker_sync_duration_seconds_bucket{le=\"10\"} 0"));
    EXPECT_TRUE(has_line(text, "broker_sync_duration_seconds_bucket{le=\"30\"} 1"));
    for (const char* name :
         {"broker_sync_sandboxes_synced_total", "broker_sync_sandboxes_stale_total", "broker_cleanup_deleted_total",
          "broker_cleanup_failed_total", "broker_expiry_orphaned_total", "broker_niosxaas_services_deleted_total",
          "broker_cleanup_duration_seconds_count"}) {
        EXPECT_TRUE(has_line(text, std::string(name) + " 0")) << name;
    }
    EXPECT_NE(text.find("# TYPE broker_niosxaas_cleanup_total counter"), std::string::npos);
    // No pool source given: no pool gauges rather than made-up zeros.
    EXPECT_EQ(text.find("broker_pool_"), std::string::npos);
    EXPECT_EQ(text.find("process_"), std::string::npos);
}

// What only the job side updates, a process without jobs does not export, and the other way
// round: a sum over every process then counts only processes that do the thing.
TEST(ObsBrokerMetrics, EachRoleExportsOnlyWhatItUpdates) {
    const char* job_names[] = {"broker_sync_",
                               "broker_cleanup_",
                               "broker_expiry_",
                               "broker_niosxaas_",
                               "broker_provider_calls_total",
                               "broker_circuit_breaker_state",
                               "broker_job_last_success_timestamp_seconds"};
    const char* api_names[] = {"broker_allocate_", "broker_allocation_latency_seconds",
                               "broker_deletion_marked_total", "broker_request_latency_seconds"};
    ManualClock clock;
    {
        MetricsRegistry registry;  // serve
        BrokerMetrics m(registry, clock, {.api = true, .jobs = false, .process_metrics = false});
        ASSERT_NE(m.api(), nullptr);
        EXPECT_EQ(m.jobs(), nullptr);
        const std::string text = registry.render();
        for (const char* name : job_names) EXPECT_EQ(text.find(name), std::string::npos) << name;
        for (const char* name : api_names) EXPECT_NE(text.find(name), std::string::npos) << name;
    }
    {
        MetricsRegistry registry;  // worker
        BrokerMetrics m(registry, clock, {.api = false, .jobs = true, .process_metrics = false});
        EXPECT_EQ(m.api(), nullptr);
        ASSERT_NE(m.jobs(), nullptr);
        m.jobs()->expect_job("sync");
        m.jobs()->provider_call("list", "ok");
        m.jobs()->set_breaker_state("csp", BreakerState::closed);
        const std::string text = registry.render();
        for (const char* name : job_names) EXPECT_NE(text.find(name), std::string::npos) << name;
        for (const char* name : api_names) EXPECT_EQ(text.find(name), std::string::npos) << name;
    }
}

TEST(ObsBrokerMetrics, JobLastSuccessIsZeroUntilTheFirstSuccess) {
    MetricsRegistry registry;
    JobMetrics jobs(registry);
    jobs.expect_job("sync");
    jobs.expect_job("cleanup");
    EXPECT_TRUE(has_line(registry.render(), "broker_job_last_success_timestamp_seconds{broker_job=\"sync\"} 0"));
    jobs.job_succeeded("sync", 1'700'000'123);
    const std::string text = registry.render();
    EXPECT_TRUE(has_line(text, "broker_job_last_success_timestamp_seconds{broker_job=\"sync\"} 1700000123")) << text;
    EXPECT_TRUE(has_line(text, "broker_job_last_success_timestamp_seconds{broker_job=\"cleanup\"} 0"));
    EXPECT_NE(text.find("# TYPE broker_job_last_success_timestamp_seconds gauge"), std::string::npos);
}

TEST(ObsBrokerMetrics, AllocationConflictsAreCountedFromTheStoresAnswer) {
    MetricsRegistry registry;
    ApiMetrics api(registry);
    ParticipantMetrics participant(api);
    EXPECT_EQ(participant.allocation(AllocateOutcome::allocated, std::chrono::milliseconds(1), 2), "success");
    EXPECT_EQ(participant.allocation(AllocateOutcome::existing, std::chrono::milliseconds(1), 1),
              "idempotent");
    EXPECT_EQ(participant.allocation(AllocateOutcome::allocated, std::chrono::milliseconds(1)), "success");
    EXPECT_EQ(api.allocate_conflicts.value(), 3u);
    EXPECT_TRUE(has_line(registry.render(), "broker_allocate_conflicts_total 3"));
}

TEST(ObsBrokerMetrics, ProcessMetricsOnRequest) {
    MetricsRegistry registry;
    ManualClock clock;
    BrokerMetrics m(registry, clock);
    const std::string text = registry.render();
    EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
    EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos);
    EXPECT_NE(text.find("\nprocess_start_time_seconds "), std::string::npos);
}

TEST(ObsBrokerMetrics, PoolGaugesComeFromTheCachedCount) {
    MetricsRegistry registry;
    ManualClock clock;
    std::atomic<int> calls{0};
    std::int64_t available = 10;
    BrokerMetrics m(registry, clock,
                    {.pool_counts =
                         [&] {
                             ++calls;
                             return counts(available, 4, 100);
                         },
                     .pool_cache_max_age = std::chrono::seconds(60),
                     .process_metrics = false});
    std::string text = registry.render();
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(has_line(text, "broker_pool_available 10"));
    EXPECT_TRUE(has_line(text, "broker_pool_allocated 4"));
    EXPECT_TRUE(has_line(text, "broker_pool_pending_deletion 1"));
    EXPECT_TRUE(has_line(text, "broker_pool_stale 2"));
    EXPECT_TRUE(has_line(text, "broker_pool_deletion_failed 3"));
    EXPECT_TRUE(has_line(text, "broker_pool_total 20"));  // deleted history not counted
    EXPECT_EQ(text.find("broker_pool_deleted"), std::string::npos);

    available = 7;
    clock.advance(std::chrono::seconds(59));
    text = registry.render();
    EXPECT_EQ(calls, 1);  // still cached: a scrape does not count the table
    EXPECT_TRUE(has_line(text, "broker_pool_available 10"));

    clock.advance(std::chrono::seconds(1));
    text = registry.render();
    EXPECT_EQ(calls, 2);
    EXPECT_TRUE(has_line(text, "broker_pool_available 7"));
    registry.render();
    EXPECT_EQ(calls, 2);
}

TEST(PoolGaugeCache, KeepsLastGoodCountsWhenTheSourceFails) {
    ManualClock clock;
    bool fail = false;
    PoolGaugeCache cache(clock, std::chrono::seconds(10), [&] {
        if (fail) throw std::runtime_error("store down");
        return counts(5, 0);
    });
    ASSERT_TRUE(cache.get());
    fail = true;
    clock.advance(std::chrono::seconds(10));
    auto c = cache.get();
    ASSERT_TRUE(c);
    EXPECT_EQ((*c)[SandboxStatus::available], 5);
    EXPECT_EQ(cache.source_failures(), 1u);
    cache.get();  // a failure also waits out max_age before the next try
    EXPECT_EQ(cache.source_calls(), 2u);
    fail = false;
    clock.advance(std::chrono::seconds(10));
    cache.get();
    EXPECT_EQ(cache.source_calls(), 3u);
}

TEST(PoolGaugeCache, NeverSucceededMeansNoGauges) {
    ManualClock clock;
    PoolGaugeCache cache(clock, std::chrono::seconds(0), []() -> StatusCounts { throw std::runtime_error("x"); });
    EXPECT_TRUE(cache.collect().empty());
    EXPECT_TRUE(cache.collect().empty());
    EXPECT_EQ(cache.source_calls(), 2u);  // max_age 0: every scrape asks
}

}  // namespace
}  // namespace broker
