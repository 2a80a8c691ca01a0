// The token-bucket arithmetic every limiter shares (the per-client request limit, the provider's
// call rate, the access log's line budget): tokens accrue at a rate up to a capacity.
#pragma once

#include <chrono>

namespace broker {

// How a bucket fills: `per_second` tokens a second, never more than `capacity`.
struct TokenRate {
    double per_second = 0;
    double capacity = 0;
};

// One bucket's state, 16 bytes, so a limiter can hold one per client. Not thread-safe: each
// limiter guards its buckets with its own lock. The rate is passed in rather than stored for
// the same reason (a million clients share one rate).
class TokenBucket {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // Starts full.
    TokenBucket(const TokenRate& rate, TimePoint now) : tokens_(rate.capacity), updated_(now) {}

    // The tokens there would be at `now`, without changing the bucket. A clock that stands
    // still or goes back (a ManualClock set back) adds nothing.
    double available(const TokenRate& rate, TimePoint now) const;
    // Adds what accrued since the last refill.
    void refill(const TokenRate& rate, TimePoint now);
    // Takes one token if a whole one is there (call refill first).
    bool try_take();
    // Takes one token even when none is left: the bucket goes into debt that later refills pay.
    void borrow() { tokens_ -= 1.0; }
    // Tokens now (negative while in debt), as of the last refill.
    double tokens() const { return tokens_; }

  private:
    double tokens_;
    TimePoint updated_;
};

}  // namespace broker
