// Which process exports which metrics, end to end: a `run` against the real simulator shows
// its job and provider metrics move (runs, provider calls by outcome, the breaker opening, each
// job's last success), and a `serve` exports no job or provider metric it would never update.
#include <gtest/gtest.h>

#include <ctime>

#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

std::string scrape(HttpClient& http) {
    const auto res = http.get("/metrics");
    EXPECT_EQ(res.status, 200) << res.body;
    return res.body;
}

TEST(MetricsRoles, RunShowsItsJobAndProviderMetricsMoving) {
    SimProcess sim(sim_flags(6));
    Environment env = jobs_env(sim);
    env["CIRCUIT_BREAKER_THRESHOLD"] = "2";
    env["CIRCUIT_BREAKER_TIMEOUT_SEC"] = "60";  // stays open while the test looks
    env["PROVIDER_MAX_ATTEMPTS"] = "3";
    const auto started = static_cast<double>(std::time(nullptr));
    SimBroker broker(env);
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 6; }, 10s));

    // The sync at start: a successful run, one list call that worked, the breaker closed.
    std::string metrics;
    ASSERT_TRUE(wait_until(
        [&] {
            metrics = scrape(http);
            return metric_sample(metrics, R"(broker_job_last_success_timestamp_seconds{broker_job="sync"})") > 0;
        },
        10s))
        << metrics;
    EXPECT_GE(metric_sample(metrics, R"(broker_sync_total{outcome="success"})"), 1);
    EXPECT_GE(metric_sample(metrics, R"(broker_provider_calls_total{operation="list",outcome="ok"})"), 1);
    EXPECT_EQ(metric_sample(metrics, R"(broker_circuit_breaker_state{breaker="csp"})"), 0);
    const double synced_at =
        metric_sample(metrics, R"(broker_job_last_success_timestamp_seconds{broker_job="sync"})");
    EXPECT_GE(synced_at, started - 1);
    EXPECT_LE(synced_at, static_cast<double>(std::time(nullptr)) + 1);
    // The API's metrics are there too: `run` serves the API.
    EXPECT_GE(metric_sample(metrics, R"(broker_allocate_total{outcome="success"})"), 0);

    // A returned sandbox: cleanup deletes it, one delete call that worked.
    const std::string participant = unique_participant("metrics");
    const auto allocated = allocate(http, participant);
    ASSERT_EQ(allocated.status, 201) << allocated.body;
    ASSERT_EQ(mark_for_deletion(http, allocated.json["sandbox_id"].get<std::string>(), participant).status,
              200);
    ASSERT_TRUE(wait_until(
        [&] {
            metrics = scrape(http);
            // A run's counts are recorded when it ends, after its calls.
            return metric_sample(metrics, "broker_cleanup_deleted_total") >= 1;
        },
        10s))
        << metrics;
    EXPECT_EQ(metric_sample(metrics, R"(broker_provider_calls_total{operation="delete",outcome="ok"})"), 1);
    EXPECT_GT(metric_sample(metrics, R"(broker_job_last_success_timestamp_seconds{broker_job="cleanup"})"), 0);
    EXPECT_GT(metric_sample(metrics, R"(broker_job_last_success_timestamp_seconds{broker_job="auto_expiry"})"), 0);

    // The provider fails: the list calls fail as server errors until the breaker opens and
    // refuses the rest; the sync run fails and its last success stays where it was.
    sim.set_faults({{"fail_rate", 1.0}, {"throttle_share", 0.0}});  // 500s only: a 429 is no outage
    const auto sync = admin_post(http, "/v1/admin/sync?wait=30");
    ASSERT_EQ(sync.status, 200) << sync.body;
    EXPECT_EQ(sync.json["result"]["ok"], false) << sync.body;
    metrics = scrape(http);
    EXPECT_EQ(
        metric_sample(metrics, R"(broker_provider_calls_total{operation="list",outcome="server_error"})"), 2)
        << metrics;
    EXPECT_EQ(
        metric_sample(metrics, R"(broker_provider_calls_total{operation="list",outcome="circuit_open"})"), 1)
        << metrics;
    EXPECT_EQ(metric_sample(metrics, R"(broker_circuit_breaker_state{breaker="csp"})"), 1);
    EXPECT_GE(metric_sample(metrics, R"(broker_sync_total{outcome="error"})"), 1);
    EXPECT_EQ(metric_sample(metrics, R"(broker_job_last_success_timestamp_seconds{broker_job="sync"})"), synced_at);
}

TEST(MetricsRoles, ServeExportsNoJobOrProviderMetrics) {
    BrokerInstance imported(sandboxes("serve-", 3, 4100000));
    imported.stop();  // the embedded store admits one process: `serve` takes it over
    ChildProcess serve({BROKER_BINARY, "serve", "--listen", "127.0.0.1:0", "--store", imported.store_url()},
                       imported.env(), imported.dir());
    const auto line = serve.wait_for_line("listening on", 10s);
    ASSERT_TRUE(line) << serve.err();
    const auto port = static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
    HttpClient http("127.0.0.1", port, 10s);
    ASSERT_EQ(allocate(http, unique_participant("serve")).status, 201);

    const std::string metrics = scrape(http);
    EXPECT_EQ(metric_sample(metrics, R"(broker_allocate_total{outcome="success"})"), 1) << metrics;
    EXPECT_GE(metric_sample(metrics, "broker_pool_available"), 0);
    for (const char* name : {"broker_sync_", "broker_cleanup_", "broker_expiry_", "broker_niosxaas_",
                             "broker_provider_calls_total", "broker_circuit_breaker_state",
                             "broker_job_last_success_timestamp_seconds"}) {
        EXPECT_EQ(metrics.find(name), std::string::npos) << name << " in a serve process's metrics";
    }
    EXPECT_EQ(serve.terminate(5s), 0) << serve.err();
}

}  // namespace
}  // namespace broker::e2e
