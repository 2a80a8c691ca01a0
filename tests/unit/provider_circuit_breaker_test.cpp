// Circuit breaker transitions, driven by a ManualClock.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "provider/circuit_breaker.hpp"

namespace broker {
namespace {

using std::chrono::seconds;

class CircuitBreakerTest : public ::testing::Test {
  protected:
    ManualClock clock_;
    CircuitBreaker breaker_{clock_, 3, seconds(60)};

    void fail(int times) {
        for (int i = 0; i < times; ++i) {
            ASSERT_TRUE(breaker_.allow());
            breaker_.record_failure();
        }
    }
};

TEST_F(CircuitBreakerTest, StaysClosedBelowThreshold) {
    fail(2);
    EXPECT_EQ(breaker_.state(), BreakerState::closed);
    EXPECT_EQ(breaker_.consecutive_failures(), 2);
    EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, SuccessResetsTheCount) {
    fail(2);
    breaker_.record_success();
    fail(2);
    EXPECT_EQ(breaker_.state(), BreakerState::closed);
}

TEST_F(CircuitBreakerTest, OpensAtThresholdAndRefusesUntilTimeout) {
    fail(3);
    EXPECT_EQ(breaker_.state(), BreakerState::open);
    EXPECT_FALSE(breaker_.allow());
    EXPECT_EQ(breaker_.retry_after(), seconds(60));
    clock_.advance(seconds(59));
    EXPECT_FALSE(breaker_.allow());
    EXPECT_EQ(breaker_.retry_after(), seconds(1));
    clock_.advance(seconds(1));
    EXPECT_EQ(breaker_.state(), BreakerState::half_open);
    EXPECT_EQ(breaker_.retry_after(), seconds(0));
}

TEST_F(CircuitBreakerTest, HalfOpenLetsExactlyOneProbeThrough) {
    fail(3);
    clock_.advance(seconds(60));
    EXPECT_TRUE(breaker_.allow());
    EXPECT_FALSE(breaker_.allow());
    EXPECT_FALSE(breaker_.allow());
    EXPECT_EQ(breaker_.state(), BreakerState::half_open);
}

TEST_F(CircuitBreakerTest, SuccessfulProbeCloses) {
    fail(3);
    clock_.advance(seconds(60));
    ASSERT_TRUE(breaker_.allow());
    breaker_.record_success();
    EXPECT_EQ(breaker_.state(), BreakerState::closed);
    EXPECT_EQ(breaker_.consecutive_failures(), 0);
    EXPECT_TRUE(breaker_.allow());
    EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, FailedProbeReopensForAFullPeriod) {
    fail(3);
    clock_.advance(seconds(60));
    ASSERT_TRUE(breaker_.allow());
    breaker_.record_failure();
    EXPECT_EQ(breaker_.state(), BreakerState::open);
    EXPECT_EQ(breaker_.retry_after(), seconds(60));
    clock_.advance(seconds(30));
    EXPECT_FALSE(breaker_.allow());
    clock_.advance(seconds(30));
    EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, ProbeThatNeverReportsIsReplacedAfterAnotherPeriod) {
    fail(3);
    clock_.advance(seconds(60));
    ASSERT_TRUE(breaker_.allow());  // this caller vanishes without reporting
    clock_.advance(seconds(59));
    EXPECT_FALSE(breaker_.allow());
    clock_.advance(seconds(1));
    EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, LateFailureWhileOpenDoesNotExtendThePeriod) {
    ASSERT_TRUE(breaker_.allow());  // a slow call started while closed
    fail(3);
    clock_.advance(seconds(50));
    breaker_.record_failure();  // the slow call reports
    clock_.advance(seconds(10));
    EXPECT_TRUE(breaker_.allow());
}

TEST(CircuitBreaker, RejectsZeroThreshold) {
    ManualClock clock;
    EXPECT_THROW(CircuitBreaker(clock, 0, seconds(1)), std::invalid_argument);
}

TEST(CircuitBreaker, OnlyOneOfManyThreadsProbes) {
    ManualClock clock;
    CircuitBreaker breaker(clock, 1, seconds(10));
    ASSERT_TRUE(breaker.allow());
    breaker.record_failure();
    clock.advance(seconds(10));
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) allowed += breaker.allow() ? 1 : 0;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 1);
}

}  // namespace
}  // namespace broker
