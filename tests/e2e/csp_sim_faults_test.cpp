// Fault injection of the provider simulator, as a real process over real HTTP: failures at
// the configured rate (HTML 500s and 429s with Retry-After), on provider paths only, changed
// while running; latency that delays provider answers without holding up other requests.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "e2e/sim_process.hpp"

namespace broker::e2e {
namespace {

using Clock = std::chrono::steady_clock;

TEST(CspSim, FaultsAtTheConfiguredRateOnProviderPathsOnly) {
    SimProcess sim({"--sandboxes", "3", "--seed", "11"});
    sim.set_faults({{"fail_rate", 0.3}});
    auto http = sim.client();
    constexpr int kCalls = 400;
    int ok = 0, outage = 0, throttled = 0;
    for (int i = 0; i < kCalls; ++i) {
        const auto res = http.get("/v2/current_user/accounts");
        if (res.status == 200) {
            ++ok;
        } else if (res.status == 500) {
            ++outage;
            EXPECT_EQ(res.header("Content-Type").rfind("text/html", 0), 0u);
            EXPECT_EQ(res.body.rfind("<!DOCTYPE html>", 0), 0u) << res.body;
        } else if (res.status == 429) {
            ++throttled;
            EXPECT_EQ(res.header("Retry-After"), "1");
        } else {
            ADD_FAILURE() << "unexpected status " << res.status;
        }
        if (i % 50 == 0) {
            EXPECT_EQ(http.get("/_sim/stats").status, 200) << "control paths are never faulted";
        }
    }
    // Binomial sd at 400 calls is about 9: [80, 160] is over 4 sd each way.
    EXPECT_GE(outage + throttled, 80);
    EXPECT_LE(outage + throttled, 160);
    EXPECT_GT(outage, 0);
    EXPECT_GT(throttled, 0);

    auto stats = sim.stats();
    EXPECT_EQ(stats["list_calls"], kCalls) << "faulted calls are counted too";
    EXPECT_EQ(stats["faults_500"], outage);
    EXPECT_EQ(stats["faults_429"], throttled);

    sim.set_faults({{"fail_rate", 0}});
    for (int i = 0; i < 50; ++i) EXPECT_EQ(http.get("/v2/current_user/accounts").status, 200);
    EXPECT_EQ(http.post("/_sim/faults", {}, R"({"fail_rate": 1.5})").status, 400);
    EXPECT_EQ(http.post("/_sim/faults", {}, R"({"latency_ms": -1})").status, 400);
    EXPECT_EQ(http.get("/_sim/faults").json["fail_rate"], 0);
}

TEST(CspSim, FailRateFlagSpoilsEveryProviderPath) {
    SimProcess sim({"--sandboxes", "2", "--fail-rate", "1"});
    auto http = sim.client();
    for (int i = 0; i < 10; ++i) {
        EXPECT_NE(http.get("/v2/current_user/accounts").status, 200);
        EXPECT_NE(http.post("/v2/session/users/sign_in", {}, R"({"email": "a", "password": "b"})").status,
                  200);
        EXPECT_NE(http.request("DELETE", "/api/universalinfra/v1/universalservices/x").status, 404);
    }
    EXPECT_EQ(http.get("/_sim/stats").status, 200);
    EXPECT_EQ(http.get("/_sim/faults").json["fail_rate"], 1);
}

TEST(CspSim, LatencyDelaysProviderPathsWithoutHoldingUpOtherRequests) {
    constexpr auto kLatency = std::chrono::milliseconds(300);
    SimProcess sim({"--sandboxes", "1", "--latency-ms", "300", "--threads", "2"});
    {
        auto http = sim.client();
        const auto start = Clock::now();
        EXPECT_EQ(http.get("/v2/current_user/accounts").status, 200);
        EXPECT_GE(Clock::now() - start, kLatency);
    }
    // Eight delayed requests at once on two I/O threads: a blocking sleep would take four
    // rounds; timers finish them in about one. /_sim/stats answers meanwhile, undelayed.
    constexpr int kParallel = 8;
    std::vector<std::thread> threads;
    std::atomic<int> answered{0};
    const auto start = Clock::now();
    for (int i = 0; i < kParallel; ++i) {
        threads.emplace_back([&] {
            auto http = sim.client();
            if (http.get("/v2/current_user/accounts").status == 200) ++answered;
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto control_start = Clock::now();
    EXPECT_EQ(sim.client().get("/_sim/stats").status, 200);
    EXPECT_LT(Clock::now() - control_start, std::chrono::milliseconds(250));
    for (auto& t : threads) t.join();
    const auto elapsed = Clock::now() - start;
    EXPECT_EQ(answered.load(), kParallel);
    EXPECT_GE(elapsed, kLatency);
    EXPECT_LT(elapsed, 3 * kLatency) << "the delays ran one after another";
}

}  // namespace
}  // namespace broker::e2e
