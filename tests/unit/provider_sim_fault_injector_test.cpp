// The simulator's fault draw: rates honoured (statistically, with wide bounds), the split
// between 500 and 429, reproducibility from the seed, settings validated.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "provider/sim/fault_injector.hpp"

namespace broker::sim {
namespace {

FaultSettings rate(double fail_rate, double throttle_share = 0.5) {
    FaultSettings s;
    s.fail_rate = fail_rate;
    s.throttle_share = throttle_share;
    return s;
}

TEST(FaultInjector, ZeroNeverFailsOneAlwaysFails) {
    FaultInjector never(rate(0.0), 1);
    FaultInjector always(rate(1.0), 1);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(never.draw(), Fault::none);
        EXPECT_NE(always.draw(), Fault::none);
    }
    EXPECT_EQ(never.counts().server_errors + never.counts().throttled, 0u);
    EXPECT_EQ(always.counts().server_errors + always.counts().throttled, 1000u);
}

TEST(FaultInjector, RateAndSplitHoldOverManyDraws) {
    FaultInjector faults(rate(0.3, 0.25), 99);
    constexpr int kDraws = 20'000;
    int failed = 0, throttled = 0;
    for (int i = 0; i < kDraws; ++i) {
        const Fault f = faults.draw();
        failed += f != Fault::none;
        throttled += f == Fault::throttled;
    }
    // Binomial sd is about 65 draws for the rate: these bounds are more than 9 sd wide.
    EXPECT_NEAR(failed, 0.3 * kDraws, 600);
    EXPECT_NEAR(throttled, 0.25 * failed, 250);
    EXPECT_EQ(faults.counts().throttled, static_cast<std::uint64_t>(throttled));
    EXPECT_EQ(faults.counts().server_errors, static_cast<std::uint64_t>(failed - throttled));
}

TEST(FaultInjector, ShareChoosesTheKind) {
    FaultInjector only_429(rate(1.0, 1.0), 5);
    FaultInjector only_500(rate(1.0, 0.0), 5);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(only_429.draw(), Fault::throttled);
        EXPECT_EQ(only_500.draw(), Fault::server_error);
    }
}

TEST(FaultInjector, SameSeedSameSequence) {
    FaultInjector a(rate(0.5), 1234), b(rate(0.5), 1234), c(rate(0.5), 4321);
    std::vector<Fault> first, second, third;
    for (int i = 0; i < 200; ++i) {
        first.push_back(a.draw());
        second.push_back(b.draw());
        third.push_back(c.draw());
    }
    EXPECT_EQ(first, second);
    EXPECT_NE(first, third);
}

TEST(FaultInjector, SettingsChangeWhileRunningAndAreValidated) {
    FaultInjector faults(rate(0.0), 1);
    EXPECT_EQ(faults.draw(), Fault::none);
    faults.set(rate(1.0));
    EXPECT_NE(faults.draw(), Fault::none);

    EXPECT_THROW(faults.set(rate(1.5)), std::invalid_argument);
    EXPECT_THROW(faults.set(rate(-0.1)), std::invalid_argument);
    EXPECT_THROW(faults.set(rate(0.1, 2.0)), std::invalid_argument);
    FaultSettings slow;
    slow.latency = FaultSettings::kMaxLatency + std::chrono::milliseconds(1);
    EXPECT_THROW(faults.set(slow), std::invalid_argument);
    EXPECT_EQ(faults.settings().fail_rate, 1.0) << "a refused change leaves the settings alone";
    EXPECT_THROW(FaultInjector(rate(2.0), 1), std::invalid_argument);
}

}  // namespace
}  // namespace broker::sim

namespace broker::sim {
namespace {

using Time = std::chrono::steady_clock::time_point;
Time at_ms(std::int64_t ms) {
    return Time(std::chrono::milliseconds(ms));
}

FaultSettings capacity(double rps, int overload = 429) {
    FaultSettings s;
    s.capacity_rps = rps;
    s.overload_status = overload;
    return s;
}

TEST(FaultInjectorCapacity, BeyondItsCallsPerSecondItThrottlesUntilTokensAccrue) {
    FaultInjector faults(capacity(5), 1);
    // A second's worth at once, then one every 200 ms.
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(faults.admit(at_ms(0))) << i;
    EXPECT_EQ(faults.admit(at_ms(0)), Fault::throttled);
    EXPECT_EQ(faults.admit(at_ms(199)), Fault::throttled);
    EXPECT_FALSE(faults.admit(at_ms(200)));
    EXPECT_EQ(faults.admit(at_ms(201)), Fault::throttled);
    EXPECT_FALSE(faults.admit(at_ms(400)));
    EXPECT_EQ(faults.counts().refused, 3u);
    EXPECT_EQ(faults.counts().admitted, 7u);
}

TEST(FaultInjectorCapacity, OverloadAs500IsABurstThatLastsASecond) {
    FaultInjector faults(capacity(2, 500), 1);
    EXPECT_FALSE(faults.admit(at_ms(0)));
    EXPECT_FALSE(faults.admit(at_ms(10)));
    EXPECT_EQ(faults.admit(at_ms(20)), Fault::server_error);
    // Tokens have accrued by 600 ms, but the burst goes on until 1020 ms.
    EXPECT_EQ(faults.admit(at_ms(600)), Fault::server_error);
    EXPECT_FALSE(faults.admit(at_ms(1020)));
}

TEST(FaultInjectorCapacity, ZeroMeansNoLimitAndBadSettingsAreRefused) {
    FaultInjector faults(capacity(0), 1);
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(faults.admit(at_ms(0)));
    EXPECT_TRUE(invalid_reason(capacity(-1)));
    EXPECT_TRUE(invalid_reason(capacity(5, 503)));
    FaultSettings jitter;
    jitter.jitter = 1.5;
    EXPECT_TRUE(invalid_reason(jitter));
}

TEST(FaultInjectorCapacity, JitterSpreadsTheLatencyWithinItsShare) {
    FaultSettings s;
    s.latency = std::chrono::milliseconds(1000);
    s.jitter = 0.2;
    FaultInjector faults(s, 7);
    std::int64_t lowest = 1'000'000, highest = 0;
    for (int i = 0; i < 2000; ++i) {
        const auto ms = faults.latency().count();
        lowest = std::min(lowest, ms);
        highest = std::max(highest, ms);
    }
    EXPECT_GE(lowest, 800);
    EXPECT_LE(highest, 1200);
    EXPECT_LT(lowest, 850) << "spread, not constant";
    EXPECT_GT(highest, 1150);
}

}  // namespace
}  // namespace broker::sim
