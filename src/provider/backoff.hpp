// How long to wait before retrying a provider call: exponential backoff with full jitter
// (so a class's worth of retries does not hit the provider in lockstep), capped, and the
// provider's own Retry-After when it gave one. Also the stoppable sleep the waits use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
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

// Waits a duration, returning false at once if asked to stop (shutdown). The callable form is
// what clients take, so tests can pass one that moves a ManualClock instead of sleeping.
using SleepFunction = std::function<bool(std::chrono::milliseconds)>;

class StoppableSleep {
  public:
    // Sleeps up to `duration`; false when stop() was called before or during the wait.
    bool sleep_for(std::chrono::milliseconds duration);
    void stop();
    bool stopped() const;
    SleepFunction as_function() {
        return [this](std::chrono::milliseconds d) { return sleep_for(d); };
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stopped_ = false;
};

}  // namespace broker
