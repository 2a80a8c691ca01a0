// The provider's call rate: one shared token bucket (core/token_bucket) that callers may borrow from.
#include "provider/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace broker {

ProviderRateLimiter::ProviderRateLimiter(const Clock& clock, double rate_per_sec, double burst)
    : clock_(clock),
      rate_(rate_per_sec),
      fill_{rate_per_sec, std::max(1.0, burst)},
      bucket_(fill_, clock.steady_now()) {}

std::chrono::milliseconds ProviderRateLimiter::acquire() {
    if (rate_ <= 0) return std::chrono::milliseconds(0);
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    bucket_.refill(fill_, now);
    bucket_.borrow();
    if (bucket_.tokens() >= 0) return std::chrono::milliseconds(0);
    // Rounded up so that after the wait the token has really accrued.
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(std::ceil(-bucket_.tokens() / rate_ * 1000.0)));
}

bool ProviderRateLimiter::try_acquire() {
    if (rate_ <= 0) return true;
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    bucket_.refill(fill_, now);
    return bucket_.try_take();
}

}  // namespace broker
