// The webhook delivery's decisions (jobs/webhook_policy): backoff doubling with jitter up to its
// cap, retries for WEBHOOK_MAX_RETRY_SEC then failed, and when a failing subscription is disabled.
#include <gtest/gtest.h>

#include "jobs/webhook_policy.hpp"

namespace broker {
namespace {

constexpr UnixSeconds kStart = 1'700'000'000;

WebhookConfig config() {
    WebhookConfig c;
    c.retry_base = std::chrono::seconds(10);
    c.retry_cap = std::chrono::seconds(300);
    c.max_retry = std::chrono::seconds(3600);
    return c;
}

WebhookDelivery delivery(std::int64_t attempts) {
    WebhookDelivery d;
    d.created_at = kStart;
    d.attempts = attempts;
    return d;
}

TEST(WebhookPolicy, BackoffDoublesPerAttemptUpToItsCapWithJitterBetweenHalfAndAll) {
    const UnixSeconds now = kStart + 60;
    EXPECT_EQ(after_failed_attempt(delivery(0), now, config(), 1.0).next_attempt_at, now + 10);
    EXPECT_EQ(after_failed_attempt(delivery(0), now, config(), 0.0).next_attempt_at, now + 5);
    EXPECT_EQ(after_failed_attempt(delivery(1), now, config(), 1.0).next_attempt_at, now + 20);
    EXPECT_EQ(after_failed_attempt(delivery(3), now, config(), 1.0).next_attempt_at, now + 80);
    EXPECT_EQ(after_failed_attempt(delivery(10), now, config(), 1.0).next_attempt_at, now + 300) << "capped";
    EXPECT_EQ(after_failed_attempt(delivery(1000), now, config(), 0.0).next_attempt_at, now + 150);
    EXPECT_EQ(after_failed_attempt(delivery(0), now, config(), 0.5).outcome, DeliveryStatus::pending);
}

TEST(WebhookPolicy, NeverRetriesWithinTheSameSecond) {
    WebhookConfig c = config();
    c.retry_base = std::chrono::milliseconds(1);
    EXPECT_EQ(after_failed_attempt(delivery(0), kStart, c, 0.0).next_attempt_at, kStart + 1);
}

TEST(WebhookPolicy, RetriesUntilTheWindowEndsThenFails) {
    // The last retry falls at the window's end, not past it.
    const UnixSeconds late = kStart + 3600 - 20;
    EXPECT_EQ(after_failed_attempt(delivery(10), late, config(), 1.0).next_attempt_at, kStart + 3600);
    EXPECT_EQ(after_failed_attempt(delivery(11), kStart + 3600, config(), 1.0).outcome,
              DeliveryStatus::failed);
    WebhookConfig once = config();
    once.max_retry = std::chrono::seconds(0);
    EXPECT_EQ(after_failed_attempt(delivery(0), kStart, once, 1.0).outcome, DeliveryStatus::failed);
}

TEST(WebhookPolicy, ASubscriptionFailingTooLongOrTooOftenIsDisabled) {
    WebhookConfig c = config();
    c.disable_after = std::chrono::seconds(86400);
    c.disable_after_failures = 3;
    WebhookSubscription s;
    EXPECT_FALSE(disable_reason(s, kStart, c));
    s.failing_since = kStart;
    EXPECT_FALSE(disable_reason(s, kStart + 86399, c));
    EXPECT_TRUE(disable_reason(s, kStart + 86400, c));
    s.failing_since.reset();
    s.consecutive_failed = 2;
    EXPECT_FALSE(disable_reason(s, kStart, c));
    s.consecutive_failed = 3;
    const auto reason = disable_reason(s, kStart, c);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, "3 deliveries failed in a row");
    c.disable_after_failures = 0;
    EXPECT_FALSE(disable_reason(s, kStart, c)) << "0 turns the count off";
    s.enabled = false;
    s.failing_since = kStart;
    EXPECT_FALSE(disable_reason(s, kStart + 999999, c)) << "already disabled";
}

}  // namespace
}  // namespace broker
