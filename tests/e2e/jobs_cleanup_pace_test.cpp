// Cleanup at the provider's pace, end to end with the simulator behaving like the real provider
// under load (2 s per call with jitter, a capacity in calls per second beyond which it answers
// 429 with Retry-After): a class's worth of returned sandboxes is deleted concurrently, each
// exactly once, with few refusals once the limit has found the pace; when the capacity drops
// the limit follows, and when it recovers so does throughput; and a long cleanup holds back no
// other job: an allocation past its lease is expired while it runs. The first two stay on the
// machine's time (no test clock): the provider's pace in real seconds is what they measure.
// The third moves the broker's clock past the lease (the test clock) while the provider's
// slowness keeps the cleanup busy in real time.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <thread>

#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::vector<std::string> allocate_and_return(HttpClient& http, int count, const std::string& label) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
        const std::string participant = unique_participant(label);
        const auto res = allocate(http, participant);
        EXPECT_EQ(res.status, 201) << res.body;
        if (res.status != 201) continue;
        const std::string id = res.json["sandbox_id"].get<std::string>();
        EXPECT_EQ(mark_for_deletion(http, id, participant).status, 200);
        ids.push_back(id);
    }
    return ids;
}

// The provider as the real one behaves under load: `latency_ms` ± 20% per call, at most
// `capacity` calls begun per second, 429 with Retry-After: 1 beyond.
std::vector<std::string> loaded_sim(int sandboxes, int latency_ms, double capacity) {
    return sim_flags(sandboxes,
                     {"--latency-ms", std::to_string(latency_ms), "--jitter", "0.2", "--capacity-rps",
                      std::to_string(capacity), "--overload", "429", "--threads", "4"});
}

// The broker's defaults for pacing (the token bucket at 5 calls/s, the limit between 1 and
// 16), with the fixture's fast retries and short leases.
Environment paced_env(const SimProcess& sim) {
    Environment env = jobs_env(sim);
    env["PROVIDER_RATE_LIMIT_RPS"] = "5";
    env["PROVIDER_RATE_LIMIT_BURST"] = "5";
    env["CLEANUP_BATCH_SIZE"] = "10";
    env["CLEANUP_MAX_CONCURRENCY"] = "16";
    env["PROVIDER_BACKOFF_BASE_MS"] = "200";
    env["PROVIDER_BACKOFF_CAP_MS"] = "2000";
    env["CSP_TIMEOUT_READ_SEC"] = "30";
    return env;
}

struct SimCounts {
    std::int64_t deletes = 0;  // delete calls received
    std::int64_t refused = 0;  // refused beyond capacity
    std::int64_t deleted = 0;
};

SimCounts counts(const SimProcess& sim) {
    const auto s = sim.stats();
    return {s["delete_calls"].get<std::int64_t>(), s["refused"].get<std::int64_t>(),
            s["deleted"].get<std::int64_t>()};
}

double limit_now(HttpClient& http) {
    return metric_sample(http.get("/metrics").body, "broker_provider_concurrency_limit");
}

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Whether `done` came true within `limit` of real time: a figure this file measures, unlike
// wait_until's limit, which only bounds a hang.
bool within(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = SteadyClock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (SteadyClock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

TEST(JobsCleanupPace, AClassOf200IsDeletedAtTheProvidersPaceEachExactlyOnce) {
    constexpr int kReturned = 200;
    SimProcess sim(loaded_sim(kReturned, 2000, 5));
    SimBroker broker(paced_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == kReturned; }, 20s));
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/pause").status, 200);
    ASSERT_EQ(allocate_and_return(http, kReturned, "pace").size(), static_cast<std::size_t>(kReturned));

    const auto started = SteadyClock::now();
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/resume").status, 200);
    ASSERT_TRUE(wait_until([&] { return seconds_since(started) >= 10; }, 15s));
    const SimCounts at_10s = counts(sim);
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["deleted"] == kReturned; }, 180s))
        << admin_stats(http).dump() << "\nsim: " << sim.stats().dump();
    const double drained = seconds_since(started);
    const SimCounts end = counts(sim);

    EXPECT_EQ(end.deleted, kReturned) << "every one deleted at the provider";
    const auto fates = sim.client().get("/_sim/accounts").json["accounts"];
    int deleted_accounts = 0;
    for (const auto& a : fates) deleted_accounts += a["fate"] == "deleted";
    EXPECT_EQ(deleted_accounts, kReturned);
    const auto stats = admin_stats(http);
    EXPECT_EQ(stats["pending_deletion"], 0);
    EXPECT_EQ(stats["deletion_failed"], 0);
    // Exactly once: no second successful delete (a repeat would find the account gone: 404,
    // and the simulator counts deletions of present accounts only).
    const std::int64_t late_calls = end.deletes - at_10s.deletes;
    const std::int64_t late_refused = end.refused - at_10s.refused;
    ASSERT_GT(late_calls, 0);
    const double late_share = static_cast<double>(late_refused) / static_cast<double>(late_calls);
    EXPECT_LT(late_share, 0.05) << late_refused << " of " << late_calls
                                << " calls refused after the first 10 s";
    std::cout << "[ figures  ] " << kReturned << " returned, 2 s latency, capacity 5/s: drained in "
              << drained << " s; delete calls " << end.deletes << ", refused " << end.refused
              << " (after 10 s: " << late_refused << " of " << late_calls << ")\n";
}

TEST(JobsCleanupPace, TheLimitFollowsTheProvidersCapacityDownAndThroughputRecoversWithIt) {
    constexpr int kReturned = 150;
    SimProcess sim(loaded_sim(kReturned, 2000, 5));
    SimBroker broker(paced_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == kReturned; }, 20s));
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/pause").status, 200);
    ASSERT_EQ(allocate_and_return(http, kReturned, "drop").size(), static_cast<std::size_t>(kReturned));
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/resume").status, 200);

    // Let the limit find the pace, then the provider's capacity drops to 1 call/s.
    ASSERT_TRUE(wait_until([&] { return limit_now(http) >= 6; }, 20s)) << limit_now(http);
    const double limit_before = limit_now(http);
    sim.set_faults({{"capacity_rps", 1}});
    const auto dropped = SteadyClock::now();
    const SimCounts at_drop = counts(sim);
    // Within 10 s the limit is down where 1 call/s at 2 s a call needs (2), give or take the probe.
    ASSERT_TRUE(within([&] { return limit_now(http) <= 3; }, 10s)) << limit_now(http);
    const double followed_in = seconds_since(dropped);
    ASSERT_TRUE(wait_until([&] { return seconds_since(dropped) >= 10; }, 11s));
    const SimCounts at_10s = counts(sim);
    ASSERT_TRUE(wait_until([&] { return seconds_since(dropped) >= 20; }, 11s));
    const SimCounts at_20s = counts(sim);
    // Refusals stop rising: the second ten seconds see no more than the first (a few remain:
    // the limit probes for more now and then, as AIMD does).
    const auto refused_first = at_10s.refused - at_drop.refused;
    const auto refused_second = at_20s.refused - at_10s.refused;
    EXPECT_LE(refused_second, refused_first)
        << "refusals after the drop: " << refused_first << " then " << refused_second;
    const double slow_rate = static_cast<double>(at_20s.deleted - at_10s.deleted) / 10.0;

    // The capacity comes back: the limit grows again, and deletions go faster.
    sim.set_faults({{"capacity_rps", 5}});
    const auto recovered = SteadyClock::now();
    ASSERT_TRUE(wait_until([&] { return seconds_since(recovered) >= 10; }, 11s));
    const SimCounts at_recovery_10s = counts(sim);
    ASSERT_TRUE(wait_until(
        [&] { return seconds_since(recovered) >= 20 || at_recovery_10s.deleted >= kReturned; }, 11s));
    const SimCounts at_recovery_20s = counts(sim);
    const double fast_rate = static_cast<double>(at_recovery_20s.deleted - at_recovery_10s.deleted) / 10.0;
    if (at_recovery_20s.deleted < kReturned) {
        EXPECT_GT(fast_rate, 2 * slow_rate) << "throughput recovers with the capacity";
    }
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["deleted"] == kReturned; }, 120s))
        << admin_stats(http).dump();
    EXPECT_EQ(counts(sim).deleted, kReturned);
    std::cout << "[ figures  ] limit " << limit_before << " before the drop, <= 3 " << followed_in
              << " s after it; refusals " << refused_first << " then " << refused_second
              << " per 10 s; deletions " << slow_rate << "/s at 1 call/s, " << fast_rate
              << "/s after recovery\n";
}

TEST(JobsCleanupPace, AnAllocationPastItsLeaseIsExpiredWhileALongCleanupRuns) {
    // One deletion at a time at 3 s each: 20 returned keep cleanup busy for a minute.
    SimProcess sim(sim_flags(30, {"--latency-ms", "3000"}));
    Environment env = jobs_env(sim);
    env["CLEANUP_MAX_CONCURRENCY"] = "1";
    env["CSP_TIMEOUT_READ_SEC"] = "30";
    env["LAB_DURATION_SEC"] = "2";
    env["GRACE_PERIOD_SEC"] = "1";
    env["AUTO_EXPIRY_INTERVAL_SEC"] = "1";
    // Leases longer than the clock's moves: the cleanup run keeps its job and its claims.
    env["JOB_LEASE_SEC"] = "60";
    env["CLEANUP_CLAIM_LEASE_SEC"] = "60";
    TestClock clock;
    SimBroker broker(env, clock.flags());
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 30; }, 60s));
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/pause").status, 200);
    allocate_and_return(http, 20, "long");
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/resume").status, 200);
    clock.advance(1s);  // the cleanup's next interval
    const auto cleanup_running = [&] {
        const auto jobs = admin_get(http, "/v1/admin/jobs");
        for (const auto& job : jobs.json["jobs"]) {
            if (job["name"] == "cleanup") return job["running"].get<bool>();
        }
        return false;
    };
    ASSERT_TRUE(wait_until(cleanup_running, 60s)) << admin_get(http, "/v1/admin/jobs").body;

    const auto res = allocate(http, unique_participant("held"));
    ASSERT_EQ(res.status, 201) << res.body;
    const std::string id = res.json["sandbox_id"].get<std::string>();
    // Lab duration + grace is 3 s: the clock moves past it, and the expiry job (woken by the
    // move) takes the sandbox back while the cleanup run still has most of a minute to go.
    const auto moved = SteadyClock::now();
    clock.advance(3s);
    const auto expired = [&] {
        const auto detail = admin_get(http, "/v1/admin/sandboxes/" + id);
        return detail.json["status"] != "allocated";
    };
    ASSERT_TRUE(wait_until(expired, 60s));
    const double took = seconds_since(moved);
    EXPECT_TRUE(cleanup_running()) << "the cleanup run was still going on";
    EXPECT_LT(sim.stats()["deleted"].get<int>(), 20);
    std::cout << "[ figures  ] expired " << took
              << " s after the clock passed its lease, during a cleanup run\n";
}

}  // namespace
}  // namespace broker::e2e
