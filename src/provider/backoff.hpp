// How long to wait before retrying a provider call: exponential backoff with full jitter
// (so a class's worth of retries does not hit the provider in lockstep), capped, and the
// provider's own Retry-After when it gave one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "core/clock.hpp"

namespace broker {

// A uniform random number in [0, 1). Injected so tests can pin the jitter.
using RandomSource = std::function<double()>;

// A thread-safe Mersenne Twister source; seed 0 means "seed from std::random_device".
RandomSource make_random_source(std::uint64_t seed = 0);

struct BackoffPolicy {
    std::chrono::milliseconds base{500};   // the ceiling of the first retry's wait
    std::chrono::milliseconds cap{30000};  // no wait computed from the attempt number exceeds it
};

class Backoff {
  public:
    Backoff(BackoffPolicy policy, RandomSource random);

    // The wait before retry number `retry` (1 for the first retry): uniform in
    // [0, min(cap, base * 2^(retry-1))]. When the provider sent Retry-After, that wait instead:
    // the provider knows better than our guess, and the cap does not shorten it.
    std::chrono::milliseconds delay(int retry,
                                    std::optional<std::chrono::seconds> retry_after = std::nullopt) const;

    const BackoffPolicy& policy() const { return policy_; }

  private:
    BackoffPolicy policy_;
    RandomSource random_;
};

// Reads a Retry-After value: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", measured from `now`). Past dates give zero; garbage nothing.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, UnixSeconds now);

}  // namespace broker
