// The provider token bucket, driven by a ManualClock.
#include <gtest/gtest.h>

#include "provider/rate_limiter.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ProviderRateLimiter, BurstGoesAtOnceThenOnePerInterval) {
    ManualClock clock;
    ProviderRateLimiter limiter(clock, 2.0, 3.0);
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
    clock.advance(seconds(1));  // 2 tokens at 2/s
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
}

TEST(ProviderRateLimiter, RefillIsCappedAtBurst) {
    ManualClock clock;
    ProviderRateLimiter limiter(clock, 5.0, 2.0);
    clock.advance(seconds(100));
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
}

TEST(ProviderRateLimiter, AcquireReturnsGrowingWaitsWhenEmpty) {
    ManualClock clock;
    ProviderRateLimiter limiter(clock, 2.0, 1.0);
    EXPECT_EQ(limiter.acquire(), milliseconds(0));
    EXPECT_EQ(limiter.acquire(), milliseconds(500));  // each caller queues behind the last
    EXPECT_EQ(limiter.acquire(), milliseconds(1000));
    EXPECT_FALSE(limiter.try_acquire());  // the future is spoken for
    clock.advance(seconds(1));            // pays back the two borrowed tokens, no more
    EXPECT_FALSE(limiter.try_acquire());
    EXPECT_EQ(limiter.acquire(), milliseconds(500));
}

TEST(ProviderRateLimiter, SustainedRateMatchesConfiguration) {
    ManualClock clock;
    ProviderRateLimiter limiter(clock, 5.0, 5.0);
    int granted = 0;
    for (int second = 0; second < 60; ++second) {
        while (limiter.try_acquire()) ++granted;
        clock.advance(seconds(1));
    }
    EXPECT_EQ(granted, 5 + 59 * 5);
}

TEST(ProviderRateLimiter, ZeroRateMeansUnlimited) {
    ManualClock clock;
    ProviderRateLimiter limiter(clock, 0.0, 1.0);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(limiter.try_acquire());
        ASSERT_EQ(limiter.acquire(), milliseconds(0));
    }
}

TEST(ProviderRateLimiter, ClockGoingBackAddsNothing) {
    ManualClock clock(1000);
    ProviderRateLimiter limiter(clock, 1.0, 1.0);
    EXPECT_TRUE(limiter.try_acquire());
    clock.set(500);
    EXPECT_FALSE(limiter.try_acquire());
}

}  // namespace
}  // namespace broker
