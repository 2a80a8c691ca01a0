// A token bucket toward the provider: at most `rate` calls per second on average, `burst` at
// once. Shared by every caller of one provider client, driven by the injected Clock.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

#include "core/clock.hpp"
#include "core/token_bucket.hpp"

namespace broker {

class ProviderRateLimiter {
  public:
    // rate <= 0 means unlimited. burst is at least 1 token.
    ProviderRateLimiter(const Clock& clock, double rate_per_sec, double burst);

    // Takes a token, borrowing from the future when none is left, and returns how long the
    // caller must wait before making its call (zero when it may go now). Waiting is the
    // caller's job so that it can be cut short by a shutdown; callers that then give up
    // have still spent their token, which only errs on the side of calling the provider less.
    std::chrono::milliseconds acquire();
    // Takes a token only if one is available now.
    bool try_acquire();

    double rate() const { return rate_; }

  private:
    const Clock& clock_;
    const double rate_;
    const TokenRate fill_;

    std::mutex mutex_;
    TokenBucket bucket_;  // in debt when callers have reserved future tokens
};

}  // namespace broker
