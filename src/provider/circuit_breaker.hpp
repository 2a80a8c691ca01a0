// A circuit breaker in front of the provider. The real provider fails in bursts that last
// minutes; after `threshold` consecutive failures we stop calling it for `open_for`, then let
// a single probe through. Time comes from the injected Clock. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string_view>

#include "core/breaker_state.hpp"
#include "core/clock.hpp"

namespace broker {


std::string_view to_string(BreakerState state);

class CircuitBreaker {
  public:
    CircuitBreaker(const Clock& clock, int threshold, std::chrono::seconds open_for);

    // Whether a call may go now. In half-open, true for exactly one caller (the probe) until
    // it reports; a probe that never reports is replaced after another `open_for`.
    bool allow();
    // The call went through and the provider behaved.
    void record_success();
    // The call failed in a way that says the provider is unwell (5xx, timeout, garbage).
    void record_failure();

    // The state as of now (an open circuit whose period ended reads half_open). For a gauge.
    BreakerState state() const;
    // How long until an open circuit lets a probe through; zero when not open.
    std::chrono::seconds retry_after() const;
    int consecutive_failures() const;

  private:
    using TimePoint = std::chrono::steady_clock::time_point;
    void open_locked(TimePoint now);

    const Clock& clock_;
    const int threshold_;
    const std::chrono::seconds open_for_;

    mutable std::mutex mutex_;
    BreakerState state_ = BreakerState::closed;
    int failures_ = 0;
    TimePoint opened_at_{};
    bool probe_in_flight_ = false;
    TimePoint probe_started_at_{};
};

}  // namespace broker
