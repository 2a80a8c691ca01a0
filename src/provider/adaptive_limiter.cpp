// The AIMD concurrency limit: see adaptive_limiter.hpp.
#include "provider/adaptive_limiter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace broker {
namespace {

// How long acquire() waits for a release before asking `sleep` whether to go on: short, so a
// shutdown is seen quickly.
constexpr std::chrono::milliseconds kFreePlacePoll{50};

}  // namespace

AdaptiveLimiter::AdaptiveLimiter(const Clock& clock, AdaptiveLimiterOptions options,
                                 LimiterObserver* observer)
    : clock_(clock),
      options_([&] {
          options.max = std::max(1, options.max);
          options.initial = std::clamp(options.initial, 1, options.max);
          options.decrease = std::clamp(options.decrease, 0.1, 0.9);
          options.latency_tolerance = std::max(1.5, options.latency_tolerance);
          options.latency_window = std::max<std::size_t>(1, options.latency_window);
          return options;
      }()),
      observer_(observer),
      limit_(options_.initial) {
    stats_.limit = limit_;
    if (observer_) {
        observer_->limit_changed(stats_.limit);
        observer_->in_flight_changed(0);
    }
}

bool AdaptiveLimiter::free_locked(TimePoint now) const {
    return now >= hold_until_ && in_flight_ < limit_;
}

std::optional<AdaptiveLimiter::Permit> AdaptiveLimiter::try_acquire() {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mutex_);
    if (!free_locked(now)) return std::nullopt;
    ++in_flight_;
    if (in_flight_ >= limit_) last_saturated_ = now;
    if (observer_) observer_->in_flight_changed(in_flight_);
    return Permit{now};
}

std::optional<AdaptiveLimiter::Permit> AdaptiveLimiter::acquire(const SleepFunction& sleep) {
    for (;;) {
        if (auto permit = try_acquire()) return permit;
        std::chrono::milliseconds held{0};
        {
            std::unique_lock lock(mutex_);
            const auto now = clock_.steady_now();
            if (now < hold_until_) {
                held = std::chrono::ceil<std::chrono::milliseconds>(hold_until_ - now);
            } else if (in_flight_ >= limit_) {
                released_.wait_for(lock, kFreePlacePoll);
            }
        }
        // A Retry-After is waited out through `sleep` (a test's moves its clock).
        if (!sleep(held)) return std::nullopt;
    }
}

void AdaptiveLimiter::release(const Permit& permit, CallSignal signal,
                              std::optional<std::chrono::seconds> retry_after, std::string_view operation) {
    const auto now = clock_.steady_now();
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(now - permit.started);
    {
        std::lock_guard lock(mutex_);
        in_flight_ = std::max(0, in_flight_ - 1);
        ++stats_.calls;
        if (retry_after && retry_after->count() > 0) hold_until_ = std::max(hold_until_, now + *retry_after);
        if (signal == CallSignal::congestion || signal == CallSignal::throttled) {
            ++stats_.congested;
            if (signal == CallSignal::throttled) ++stats_.throttled;
            congestion_locked(permit, now);
        } else if (signal == CallSignal::ok) {
            const auto median = median_locked(operation);
            if (median && latency > *median * options_.latency_tolerance &&
                latency > std::chrono::milliseconds(100)) {
                // Far slower than usual: the provider is queueing our calls.
                ++stats_.congested;
                congestion_locked(permit, now);
            } else {
                auto found = latencies_.find(operation);
                if (found == latencies_.end()) found = latencies_.try_emplace(std::string(operation)).first;
                auto& recent = found->second;
                recent.push_back(latency);
                while (recent.size() > options_.latency_window) recent.pop_front();
                if (last_operation_ != operation) last_operation_ = operation;
                // Grow only when the limit held calls back while this one ran, not when fewer
                // calls were asked for than it allows.
                if (last_saturated_ >= permit.started) {
                    if (slow_start_) {
                        set_limit_locked(limit_ + 1);
                    } else if (++good_ >= limit_) {
                        set_limit_locked(limit_ + 1);
                    }
                }
            }
        }
        if (observer_) observer_->in_flight_changed(in_flight_);
    }
    if (observer_) observer_->call_latency(now - permit.started);
    released_.notify_all();
}

void AdaptiveLimiter::cancel(const Permit&) {
    {
        std::lock_guard lock(mutex_);
        in_flight_ = std::max(0, in_flight_ - 1);
        if (observer_) observer_->in_flight_changed(in_flight_);
    }
    released_.notify_all();
}

void AdaptiveLimiter::congestion_locked(const Permit& permit, TimePoint now) {
    // Calls that were already under way when the limit last fell tell of the old limit.
    if (stats_.decreases > 0 && permit.started < last_decrease_) return;
    slow_start_ = false;
    last_decrease_ = now;
    ++stats_.decreases;
    set_limit_locked(static_cast<int>(std::floor(limit_ * options_.decrease)));
}

void AdaptiveLimiter::set_limit_locked(int limit) {
    const int before = limit_;
    limit_ = std::clamp(limit, 1, options_.max);
    good_ = 0;
    const int after = limit_;
    if (after == before) return;
    stats_.limit = after;
    spdlog::debug("provider concurrency limit {} -> {}", before, after);
    if (observer_) observer_->limit_changed(after);
}

std::optional<std::chrono::milliseconds> AdaptiveLimiter::median_locked(std::string_view operation) const {
    const auto found = latencies_.find(operation);
    if (found == latencies_.end()) return std::nullopt;
    const auto& recent = found->second;
    if (recent.size() < std::max<std::size_t>(1, options_.latency_min_samples)) return std::nullopt;
    std::vector<std::chrono::milliseconds> sorted(recent.begin(), recent.end());
    const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
    std::nth_element(sorted.begin(), middle, sorted.end());
    return *middle;
}

int AdaptiveLimiter::limit() const {
    std::lock_guard lock(mutex_);
    return limit_;
}

int AdaptiveLimiter::in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
}

LimiterStats AdaptiveLimiter::stats() const {
    std::lock_guard lock(mutex_);
    LimiterStats out = stats_;
    out.limit = limit_;
    out.in_flight = in_flight_;
    out.median_latency = median_locked(last_operation_);
    return out;
}

}  // namespace broker
