// The shared token-bucket arithmetic: starts full, refills at its rate up to its capacity,
// never refills from a clock that stands still or goes back, and can go into debt.
#include <gtest/gtest.h>

#include <chrono>

#include "core/token_bucket.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using TimePoint = TokenBucket::TimePoint;

const TimePoint kStart = TimePoint(std::chrono::hours(1));

TEST(CoreTokenBucket, StartsFullAndTakesWholeTokensOnly) {
    const TokenRate rate{2, 3};
    TokenBucket bucket(rate, kStart);
    EXPECT_TRUE(bucket.try_take());
    EXPECT_TRUE(bucket.try_take());
    EXPECT_TRUE(bucket.try_take());
    EXPECT_FALSE(bucket.try_take());
    bucket.refill(rate, kStart + milliseconds(250));  // half a token
    EXPECT_FALSE(bucket.try_take());
    bucket.refill(rate, kStart + milliseconds(500));
    EXPECT_TRUE(bucket.try_take());
}

TEST(CoreTokenBucket, RefillStopsAtCapacity) {
    const TokenRate rate{10, 2};
    TokenBucket bucket(rate, kStart);
    ASSERT_TRUE(bucket.try_take());
    EXPECT_DOUBLE_EQ(bucket.available(rate, kStart + std::chrono::hours(1)), 2.0);
    EXPECT_DOUBLE_EQ(bucket.tokens(), 1.0);  // available() only looks
    bucket.refill(rate, kStart + std::chrono::hours(1));
    EXPECT_DOUBLE_EQ(bucket.tokens(), 2.0);
}

TEST(CoreTokenBucket, AClockSetBackAddsNothing) {
    const TokenRate rate{1, 5};
    TokenBucket bucket(rate, kStart);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.try_take());
    bucket.refill(rate, kStart - std::chrono::seconds(30));
    EXPECT_DOUBLE_EQ(bucket.tokens(), 0.0);
    // Time is measured from the latest point seen, not from the one set back.
    bucket.refill(rate, kStart + std::chrono::seconds(1));
    EXPECT_DOUBLE_EQ(bucket.tokens(), 1.0);
}

TEST(CoreTokenBucket, BorrowingGoesIntoDebtThatRefillsPay) {
    const TokenRate rate{4, 1};
    TokenBucket bucket(rate, kStart);
    bucket.borrow();
    bucket.borrow();
    bucket.borrow();
    EXPECT_DOUBLE_EQ(bucket.tokens(), -2.0);
    bucket.refill(rate, kStart + milliseconds(500));
    EXPECT_DOUBLE_EQ(bucket.tokens(), 0.0);
    EXPECT_FALSE(bucket.try_take());
}

TEST(CoreTokenBucket, AZeroRateNeverRefills) {
    const TokenRate rate{0, 0};
    TokenBucket bucket(rate, kStart);
    bucket.refill(rate, kStart + std::chrono::hours(24));
    EXPECT_FALSE(bucket.try_take());
}

}  // namespace
}  // namespace broker
