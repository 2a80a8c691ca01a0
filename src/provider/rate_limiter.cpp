// Token bucket arithmetic in floating-point tokens.
#include "provider/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace broker {

ProviderRateLimiter::ProviderRateLimiter(const Clock& clock, double rate_per_sec, double burst)
    : clock_(clock),
      rate_(rate_per_sec),
      burst_(std::max(1.0, burst)),
      tokens_(burst_),
      last_(clock.steady_now()) {}

void ProviderRateLimiter::refill_locked(TimePoint now) {
    if (now <= last_) return;  // a clock that stands still (or a ManualClock set back) adds nothing
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
}

std::chrono::milliseconds ProviderRateLimiter::acquire() {
    if (rate_ <= 0) return std::chrono::milliseconds(0);
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    refill_locked(now);
    tokens_ -= 1.0;
    if (tokens_ >= 0) return std::chrono::milliseconds(0);
    // Rounded up so that after the wait the token has really accrued.
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(-tokens_ / rate_ * 1000.0)));
}

bool ProviderRateLimiter::try_acquire() {
    if (rate_ <= 0) return true;
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    refill_locked(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

}  // namespace broker
