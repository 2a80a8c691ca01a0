// Backoff bounds, jitter and Retry-After; Retry-After parsing.
#include <gtest/gtest.h>

#include <set>

#include "provider/backoff.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RandomSource constant(double value) {
    return [value] { return value; };
}

TEST(Backoff, CeilingDoublesPerRetryUpToTheCap) {
    const Backoff backoff({milliseconds(100), milliseconds(1000)}, constant(1.0));
    EXPECT_EQ(backoff.delay(1), milliseconds(100));
    EXPECT_EQ(backoff.delay(2), milliseconds(200));
    EXPECT_EQ(backoff.delay(3), milliseconds(400));
    EXPECT_EQ(backoff.delay(4), milliseconds(800));
    EXPECT_EQ(backoff.delay(5), milliseconds(1000));
    EXPECT_EQ(backoff.delay(500), milliseconds(1000));  // no overflow for absurd retry numbers
}

TEST(Backoff, FullJitterScalesTheCeiling) {
    const Backoff zero({milliseconds(100), milliseconds(1000)}, constant(0.0));
    EXPECT_EQ(zero.delay(3), milliseconds(0));
    const Backoff half({milliseconds(100), milliseconds(1000)}, constant(0.5));
    EXPECT_EQ(half.delay(3), milliseconds(200));
}

TEST(Backoff, RealJitterStaysInBoundsAndVaries) {
    const Backoff backoff({milliseconds(100), milliseconds(10'000)}, make_random_source(42));
    std::set<long> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto d = backoff.delay(4);
        ASSERT_GE(d.count(), 0);
        ASSERT_LE(d.count(), 800);
        seen.insert(d.count());
    }
    EXPECT_GT(seen.size(), 100u);  // spread out, not in lockstep
}

TEST(Backoff, SeededSourcesRepeat) {
    auto a = make_random_source(7);
    auto b = make_random_source(7);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(a(), b());
}

TEST(Backoff, RetryAfterWinsEvenAboveTheCap) {
    const Backoff backoff({milliseconds(100), milliseconds(1000)}, constant(0.0));
    EXPECT_EQ(backoff.delay(1, seconds(5)), milliseconds(5000));
    EXPECT_EQ(backoff.delay(1, seconds(0)), milliseconds(0));
}

TEST(Backoff, RejectsCapBelowBase) {
    EXPECT_THROW(Backoff({milliseconds(100), milliseconds(10)}, constant(0)), std::invalid_argument);
}

TEST(RetryAfter, ParsesDeltaSeconds) {
    EXPECT_EQ(parse_retry_after("120", 0), seconds(120));
    EXPECT_EQ(parse_retry_after(" 7 ", 0), seconds(7));
    EXPECT_EQ(parse_retry_after("0", 0), seconds(0));
}

TEST(RetryAfter, ParsesHttpDateRelativeToNow) {
    // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30), seconds(30));
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 30), seconds(0));
}

TEST(RetryAfter, RejectsGarbage) {
    EXPECT_EQ(parse_retry_after("", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("soon", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("-5", 0), std::nullopt);
    EXPECT_EQ(parse_retry_after("12s", 0), std::nullopt);
}

}  // namespace
}  // namespace broker
