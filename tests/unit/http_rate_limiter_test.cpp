// Token-bucket limiter: burst, refill, Retry-After, isolation between keys, eviction of
// idle buckets, the key cap, and concurrent use of shards.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "http/rate_limiter.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(HttpRateLimiter, BurstThenRefusalWithRetryAfter) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 50, .burst = 200});
    for (int i = 0; i < 200; ++i) {
        auto d = limiter.check("participant:a");
        ASSERT_TRUE(d.allowed) << i;
        EXPECT_EQ(d.limit, 200);
        EXPECT_EQ(d.remaining, 199 - i);
    }
    auto refused = limiter.check("participant:a");
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.remaining, 0);
    EXPECT_EQ(refused.limit, 200);
    EXPECT_EQ(refused.retry_after_seconds, 1);  // one token is back in 20 ms; headers count whole seconds
}

TEST(HttpRateLimiter, RefillsAtTheSustainedRate) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 50, .burst = 200});
    for (int i = 0; i < 200; ++i) limiter.check("k");
    EXPECT_FALSE(limiter.check("k").allowed);
    clock.advance_ms(milliseconds(19));
    EXPECT_FALSE(limiter.check("k").allowed);  // 0.95 tokens
    clock.advance_ms(milliseconds(1));
    auto d = limiter.check("k");  // exactly one token back after 20 ms
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_FALSE(limiter.check("k").allowed);

    // One second sustains 50 more requests, not more.
    clock.advance(seconds(1));
    int allowed = 0;
    for (int i = 0; i < 100; ++i) allowed += limiter.check("k").allowed;
    EXPECT_EQ(allowed, 50);
}

TEST(HttpRateLimiter, RefillNeverExceedsBurst) {
    ManualClock clock;
    // No sweep during the test: the bucket itself must cap its refill.
    RateLimiter limiter(clock, {.rps = 10, .burst = 5, .sweep_interval = std::chrono::hours(24)});
    limiter.check("k");
    clock.advance(seconds(3600));
    int allowed = 0;
    for (int i = 0; i < 20; ++i) allowed += limiter.check("k").allowed;
    EXPECT_EQ(allowed, 5);
}

TEST(HttpRateLimiter, RetryAfterCoversTheWaitForOneToken) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 0.25, .burst = 1});  // one token every 4 s
    EXPECT_TRUE(limiter.check("k").allowed);
    auto d = limiter.check("k");
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_seconds, 4);
    clock.advance(seconds(3));
    d = limiter.check("k");
    EXPECT_EQ(d.retry_after_seconds, 1);
    clock.advance_ms(milliseconds(999));
    EXPECT_FALSE(limiter.check("k").allowed);
    clock.advance_ms(milliseconds(1));
    EXPECT_TRUE(limiter.check("k").allowed);
}

TEST(HttpRateLimiter, KeysAreIndependent) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 50, .burst = 200});
    int refused = 0;
    for (int i = 0; i < 320; ++i) refused += !limiter.check("participant:noisy").allowed;
    EXPECT_EQ(refused, 120);
    auto other = limiter.check("participant:quiet");
    EXPECT_TRUE(other.allowed);
    EXPECT_EQ(other.remaining, 199);
}

TEST(HttpRateLimiter, EvictsOnlyFullBucketsAndEvictionChangesNoDecision) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 50, .burst = 200, .shards = 4});
    for (int i = 0; i < 200; ++i) limiter.check("busy");
    limiter.check("light");
    EXPECT_EQ(limiter.tracked_keys(), 2u);

    clock.advance_ms(milliseconds(20));  // "light" is full again, "busy" has 1 token
    EXPECT_EQ(limiter.evict_idle(), 1u);
    EXPECT_EQ(limiter.tracked_keys(), 1u);
    auto d = limiter.check("busy");  // kept: it still remembers its debt
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_EQ(limiter.check("light").remaining, 199);  // as if it had never been evicted

    clock.advance(seconds(4));
    EXPECT_EQ(limiter.evict_idle(), 2u);
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(HttpRateLimiter, MillionDistinctKeysLeaveABoundedMap) {
    ManualClock clock;
    RateLimiter limiter(clock, {.rps = 50, .burst = 200, .shards = 64, .sweep_interval = milliseconds(1000)});
    // 1 000 000 one-off clients over 20 simulated seconds: 50 000 new keys a second. Each
    // bucket is full again 20 ms after its one request, so a sweep a second keeps the map
    // near one second's worth of keys.
    std::size_t peak = 0;
    for (int i = 0; i < 1'000'000; ++i) {
        ASSERT_TRUE(limiter.check("ip:key-" + std::to_string(i)).allowed);
        if (i % 50 == 49) clock.advance_ms(milliseconds(1));
        if (i % 100'000 == 99'999) peak = std::max(peak, limiter.tracked_keys());
    }
    EXPECT_LE(peak, 2 * 50'000u + 64);  // at most two sweep intervals of arrivals
    EXPECT_LT(limiter.tracked_keys(), 110'000u);
    EXPECT_EQ(limiter.untracked(), 0u);
    clock.advance(seconds(5));
    limiter.evict_idle();
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(HttpRateLimiter, KeyCapServesNewKeysUntracked) {
    ManualClock clock;
    RateLimiter limiter(
        clock, {.rps = 1, .burst = 2, .shards = 1, .sweep_interval = milliseconds(1000), .max_keys = 10});
    for (int i = 0; i < 15; ++i)
        EXPECT_TRUE(limiter.check(std::string("k").append(std::to_string(i))).allowed);
    EXPECT_EQ(limiter.tracked_keys(), 10u);
    EXPECT_EQ(limiter.untracked(), 5u);
    // Tracked keys keep being limited.
    EXPECT_TRUE(limiter.check("k0").allowed);
    EXPECT_FALSE(limiter.check("k0").allowed);
    // Once the sweep frees room (buckets full after 2 s), new keys are tracked again.
    clock.advance(seconds(3));
    limiter.check("fresh");
    EXPECT_EQ(limiter.tracked_keys(), 1u);
}

TEST(HttpRateLimiter, RejectsNonsenseOptions) {
    ManualClock clock;
    EXPECT_THROW(RateLimiter(clock, {.rps = 0}), std::invalid_argument);
    EXPECT_THROW(RateLimiter(clock, {.rps = 1, .burst = 0.5}), std::invalid_argument);
    EXPECT_THROW(RateLimiter(clock, {.rps = 1, .burst = 1, .shards = 0}), std::invalid_argument);
}

TEST(HttpRateLimiter, ConcurrentChecksGrantExactlyTheBurst) {
    ManualClock clock;  // time stands still: no refill, so exactly `burst` grants per key
    RateLimiter limiter(clock, {.rps = 50, .burst = 200, .shards = 8});
    constexpr int kThreads = 8;
    constexpr int kKeys = 16;
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int round = 0; round < 100; ++round) {
                for (int k = 0; k < kKeys; ++k) granted += limiter.check("key" + std::to_string(k)).allowed;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(granted, kKeys * 200);  // 8 threads x 100 rounds = 800 tries per key
}

}  // namespace
}  // namespace broker
