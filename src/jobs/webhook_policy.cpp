// The webhook delivery's decisions: see webhook_policy.hpp.
#include "jobs/webhook_policy.hpp"

#include <algorithm>
#include <cmath>

namespace broker {

RetryDecision after_failed_attempt(const WebhookDelivery& delivery, UnixSeconds now,
                                   const WebhookConfig& config, double jitter) {
    if (now - delivery.created_at >= config.max_retry.count()) return {DeliveryStatus::failed, now};
    const double base = std::chrono::duration<double>(config.retry_base).count();
    const double cap = static_cast<double>(config.retry_cap.count());
    const int doublings = static_cast<int>(std::min<std::int64_t>(delivery.attempts, 40));
    const double backoff = std::min(cap, base * std::ldexp(1.0, doublings));
    const double wait = backoff * (0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0));
    // Whole seconds (the store's unit), at least one: a failed attempt is never retried in
    // the same second.
    const auto seconds = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)));
    // The last retry happens at the end of the window, not past it.
    const UnixSeconds last = delivery.created_at + config.max_retry.count();
    return {DeliveryStatus::pending, std::min(now + seconds, std::max(last, now + 1))};
}

std::optional<std::string> disable_reason(const WebhookSubscription& s, UnixSeconds now,
                                          const WebhookConfig& config) {
    if (!s.enabled) return std::nullopt;
    if (s.failing_since && now - *s.failing_since >= config.disable_after.count()) {
        return "every delivery attempt failed for " + std::to_string(now - *s.failing_since) + " s";
    }
    if (config.disable_after_failures > 0 && s.consecutive_failed >= config.disable_after_failures) {
        return std::to_string(s.consecutive_failed) + " deliveries failed in a row";
    }
    return std::nullopt;
}

}  // namespace broker
