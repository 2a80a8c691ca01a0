// The adaptive concurrency limit with a manual clock: slow start, additive increase, one
// multiplicative decrease per round trip on 429/5xx/slow answers, Retry-After holding every
// call, the bounds, a stoppable wait, and what it tells its observer.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "provider/adaptive_limiter.hpp"

namespace broker::testing {
namespace {

using namespace std::chrono_literals;

class RecordingObserver final : public LimiterObserver {
  public:
    void limit_changed(int limit) override { limits.push_back(limit); }
    void in_flight_changed(int n) override { in_flight = n; }
    void call_latency(std::chrono::duration<double> latency) override {
        latencies.push_back(latency.count());
    }
    std::vector<int> limits;
    int in_flight = -1;
    std::vector<double> latencies;
};

class AdaptiveLimiterTest : public ::testing::Test {
  protected:
    AdaptiveLimiterOptions options(int max = 16, int initial = 2) {
        AdaptiveLimiterOptions o;
        o.max = max;
        o.initial = initial;
        return o;
    }
    // Takes every free place; the permits.
    static std::vector<AdaptiveLimiter::Permit> fill(AdaptiveLimiter& limiter) {
        std::vector<AdaptiveLimiter::Permit> out;
        while (auto p = limiter.try_acquire()) out.push_back(*p);
        return out;
    }
    // One round trip: every place taken, `latency` passes, all come back with `signal`.
    void round_trip(AdaptiveLimiter& limiter, CallSignal signal, std::chrono::milliseconds latency = 100ms) {
        auto permits = fill(limiter);
        clock_.advance_ms(latency);
        for (const auto& p : permits) limiter.release(p, signal);
    }
    ManualClock clock_;
};

TEST_F(AdaptiveLimiterTest, SlowStartDoublesPerRoundTripUpToTheMaximum) {
    AdaptiveLimiter limiter(clock_, options(16, 2));
    EXPECT_EQ(limiter.limit(), 2);
    EXPECT_EQ(fill(limiter).size(), 2u) << "no more in flight than the limit";
    AdaptiveLimiter fresh(clock_, options(16, 2));
    round_trip(fresh, CallSignal::ok);
    EXPECT_EQ(fresh.limit(), 4);
    round_trip(fresh, CallSignal::ok);
    EXPECT_EQ(fresh.limit(), 8);
    round_trip(fresh, CallSignal::ok);
    EXPECT_EQ(fresh.limit(), 16);
    round_trip(fresh, CallSignal::ok);
    EXPECT_EQ(fresh.limit(), 16) << "never above the maximum (CLEANUP_MAX_CONCURRENCY)";
}

TEST_F(AdaptiveLimiterTest, CongestionHalvesOncePerRoundTripThenGrowsByOnePerRoundTrip) {
    RecordingObserver observer;
    AdaptiveLimiter limiter(clock_, options(16, 8), &observer);
    // Eight calls in flight all throttled: one decrease, not eight.
    auto permits = fill(limiter);
    ASSERT_EQ(permits.size(), 8u);
    clock_.advance_ms(50ms);
    for (const auto& p : permits) limiter.release(p, CallSignal::throttled, std::chrono::seconds(0));
    EXPECT_EQ(limiter.limit(), 4);
    EXPECT_EQ(limiter.stats().decreases, 1u);
    EXPECT_EQ(limiter.stats().throttled, 8u);
    // A 5xx of a call begun after that decrease halves again, at once.
    round_trip(limiter, CallSignal::congestion);
    EXPECT_EQ(limiter.limit(), 2);
    // Past the first decrease, growth is additive: +1 per round trip.
    round_trip(limiter, CallSignal::ok);
    EXPECT_EQ(limiter.limit(), 3);
    round_trip(limiter, CallSignal::ok);
    EXPECT_EQ(limiter.limit(), 4);
    EXPECT_EQ(observer.limits.front(), 8);
    EXPECT_EQ(observer.limits.back(), 4);
    EXPECT_EQ(observer.in_flight, 0);
    EXPECT_FALSE(observer.latencies.empty());
}

TEST_F(AdaptiveLimiterTest, NeverBelowOne) {
    AdaptiveLimiter limiter(clock_, options(4, 4));
    for (int i = 0; i < 10; ++i) round_trip(limiter, CallSignal::congestion);
    EXPECT_EQ(limiter.limit(), 1);
    EXPECT_TRUE(limiter.try_acquire().has_value()) << "one call may always go";
}

TEST_F(AdaptiveLimiterTest, NeutralAnswersLeaveTheLimitAlone) {
    AdaptiveLimiter limiter(clock_, options(16, 4));
    round_trip(limiter, CallSignal::neutral);
    EXPECT_EQ(limiter.limit(), 4);
    EXPECT_EQ(limiter.stats().decreases, 0u);
}

TEST_F(AdaptiveLimiterTest, AnAnswerFarSlowerThanTheRecentMedianCountsAsCongestion) {
    AdaptiveLimiter limiter(clock_, options(64, 64));
    // Ten calls at 1 s make the median; the limit is already at its maximum.
    for (int i = 0; i < 10; ++i) {
        auto p = limiter.try_acquire();
        clock_.advance_ms(1000ms);
        limiter.release(*p, CallSignal::ok);
    }
    EXPECT_EQ(limiter.stats().median_latency, std::chrono::milliseconds(1000));
    auto p = limiter.try_acquire();
    clock_.advance_ms(2000ms);  // within 3 × the median: fine
    limiter.release(*p, CallSignal::ok);
    EXPECT_EQ(limiter.limit(), 64);
    p = limiter.try_acquire();
    clock_.advance_ms(5000ms);  // far above: the provider is queueing
    limiter.release(*p, CallSignal::ok);
    EXPECT_EQ(limiter.limit(), 32);
    EXPECT_EQ(limiter.stats().congested, 1u);
}

TEST_F(AdaptiveLimiterTest, ALatencyIsJudgedAgainstItsOwnKindOnly) {
    AdaptiveLimiter limiter(clock_, options(64, 64));
    // Quick list pages make their own median; they say nothing about how long a deletion takes.
    for (int i = 0; i < 10; ++i) {
        auto p = limiter.try_acquire();
        clock_.advance_ms(200ms);
        limiter.release(*p, CallSignal::ok, std::nullopt, "list_accounts");
    }
    for (int i = 0; i < 10; ++i) {
        auto p = limiter.try_acquire();
        clock_.advance_ms(5000ms);  // 25 × the lists' median, as usual for a deletion
        limiter.release(*p, CallSignal::ok, std::nullopt, "delete_account");
    }
    EXPECT_EQ(limiter.limit(), 64);
    EXPECT_EQ(limiter.stats().congested, 0u);
    auto p = limiter.try_acquire();
    clock_.advance_ms(20000ms);  // far above the deletions' own median: congestion
    limiter.release(*p, CallSignal::ok, std::nullopt, "delete_account");
    EXPECT_EQ(limiter.limit(), 32);
}

TEST_F(AdaptiveLimiterTest, RetryAfterHoldsEveryCallUntilItHasPassed) {
    AdaptiveLimiter limiter(clock_, options(16, 4));
    auto p = limiter.try_acquire();
    limiter.release(*p, CallSignal::throttled, std::chrono::seconds(3));
    EXPECT_FALSE(limiter.try_acquire().has_value()) << "held by Retry-After";
    std::int64_t waited_ms = 0;
    const SleepFunction sleep = [&](std::chrono::milliseconds d) {
        waited_ms += d.count();
        clock_.advance_ms(d);
        return true;
    };
    EXPECT_TRUE(limiter.acquire(sleep).has_value());
    EXPECT_EQ(waited_ms, 3000);
}

TEST_F(AdaptiveLimiterTest, AWaitForAPlaceEndsWhenTheSleepSaysStop) {
    AdaptiveLimiter limiter(clock_, options(1, 1));
    auto held = limiter.try_acquire();
    ASSERT_TRUE(held);
    int asked = 0;
    const SleepFunction stop_on_third = [&](std::chrono::milliseconds) { return ++asked < 3; };
    EXPECT_FALSE(limiter.acquire(stop_on_third).has_value());
    EXPECT_EQ(asked, 3);
}

TEST_F(AdaptiveLimiterTest, AReleaseWakesAWaiterAndACancelledPlaceIsFreeAgain) {
    AdaptiveLimiter limiter(clock_, options(1, 1));
    auto held = limiter.try_acquire();
    std::optional<AdaptiveLimiter::Permit> got;
    std::thread waiter([&] { got = limiter.acquire([](std::chrono::milliseconds) { return true; }); });
    limiter.release(*held, CallSignal::ok);
    waiter.join();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(limiter.in_flight(), 1);
    limiter.cancel(*got);
    EXPECT_EQ(limiter.in_flight(), 0);
    EXPECT_EQ(limiter.stats().calls, 1u) << "a cancelled place was no call";
}

}  // namespace
}  // namespace broker::testing
