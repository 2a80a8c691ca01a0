// The breaker's transitions. The open → half-open step happens lazily, when someone asks,
// so no timer thread is needed.
#include "provider/circuit_breaker.hpp"

#include <algorithm>
#include <stdexcept>

namespace broker {

std::string_view to_string(BreakerState state) {
    switch (state) {
        case BreakerState::closed:
            return "closed";
        case BreakerState::open:
            return "open";
        case BreakerState::half_open:
            return "half_open";
    }
    return "unknown";
}

CircuitBreaker::CircuitBreaker(const Clock& clock, int threshold, std::chrono::seconds open_for)
    : clock_(clock), threshold_(threshold), open_for_(open_for) {
    if (threshold < 1) throw std::invalid_argument("circuit breaker threshold must be at least 1");
    if (open_for.count() < 0) throw std::invalid_argument("circuit breaker timeout must not be negative");
}

bool CircuitBreaker::allow() {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    switch (state_) {
        case BreakerState::closed:
            return true;
        case BreakerState::open:
            if (now - opened_at_ < open_for_) return false;
            state_ = BreakerState::half_open;
            probe_in_flight_ = true;
            probe_started_at_ = now;
            return true;
        case BreakerState::half_open:
            // A probe whose caller vanished without reporting must not hold the circuit forever.
            if (probe_in_flight_ && now - probe_started_at_ < open_for_) return false;
            probe_in_flight_ = true;
            probe_started_at_ = now;
            return true;
    }
    return false;
}

void CircuitBreaker::record_success() {
    std::lock_guard lock(mutex_);
    state_ = BreakerState::closed;
    failures_ = 0;
    probe_in_flight_ = false;
}

void CircuitBreaker::record_failure() {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    ++failures_;
    if (state_ == BreakerState::half_open) {
        open_locked(now);  // the probe failed: another full period before the next one
    } else if (state_ == BreakerState::closed && failures_ >= threshold_) {
        open_locked(now);
    }
    // Already open: a call allowed before the circuit opened reported late; the period stands.
}

void CircuitBreaker::open_locked(TimePoint now) {
    state_ = BreakerState::open;
    opened_at_ = now;
    probe_in_flight_ = false;
}

BreakerState CircuitBreaker::state() const {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    if (state_ == BreakerState::open && now - opened_at_ >= open_for_) return BreakerState::half_open;
    return state_;
}

std::chrono::seconds CircuitBreaker::retry_after() const {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    if (state_ != BreakerState::open) return std::chrono::seconds(0);
    const auto left = open_for_ - (now - opened_at_);
    if (left <= decltype(left)::zero()) return std::chrono::seconds(0);
    // Round up: telling a caller "0" while the circuit is still open would make it spin.
    return std::chrono::ceil<std::chrono::seconds>(left);
}

int CircuitBreaker::consecutive_failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

}  // namespace broker
