// How many calls to the provider may be in flight at once, found by watching how it answers
// (AIMD, as TCP finds a path's capacity): slow start (+1 per good call) until the first sign of
// congestion, then +1 per `limit` good calls (one per round trip); at once ×decrease on a 429, a
// 5xx, a timeout, or a latency far above the recent median, at most once per round trip (calls
// that started before the last decrease do not count again). A Retry-After holds every new
// call until it has passed. Never below 1 nor above `max`. The request rate is capped apart,
// by the token bucket (provider/rate_limiter). One per provider, shared by every job calling
// it; time from the injected Clock. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "runtime/stoppable_sleep.hpp"

namespace broker {

struct AdaptiveLimiterOptions {
    int max = 16;                          // CLEANUP_MAX_CONCURRENCY: never more calls in flight
    int initial = 2;                       // where the search starts
    double decrease = 0.5;                 // the limit is multiplied by this on congestion
    double latency_tolerance = 3.0;        // a good call slower than this × the recent median is congestion
    std::size_t latency_window = 50;       // good calls the median is taken over
    std::size_t latency_min_samples = 10;  // fewer: latency is not judged yet
};

// How a call ended, as far as the limiter cares.
enum class CallSignal {
    ok,          // a usable answer (or a 404): judged by its latency
    throttled,   // 429: the provider said it is past its capacity
    congestion,  // 5xx, 408, a timeout, an HTML page: the provider is struggling
    neutral,     // an answer that says nothing about load (a 4xx, a refused connection)
};

// What the limiter tells its observer (the metrics) as it changes.
class LimiterObserver {
  public:
    virtual ~LimiterObserver() = default;
    virtual void limit_changed(int limit) = 0;
    virtual void in_flight_changed(int in_flight) = 0;
    virtual void call_latency(std::chrono::duration<double> latency) = 0;
};

// Counters since the limiter was made; a job takes the difference over its run.
struct LimiterStats {
    int limit = 0;
    int in_flight = 0;
    std::uint64_t calls = 0;
    std::uint64_t congested = 0;  // calls that signalled congestion (429, 5xx, timeout, slow)
    std::uint64_t throttled = 0;  // of those, 429s
    std::uint64_t decreases = 0;
    std::optional<std::chrono::milliseconds> median_latency;
};

class AdaptiveLimiter {
  public:
    // A call under way; hand it back to release().
    struct Permit {
        std::chrono::steady_clock::time_point started;
    };

    AdaptiveLimiter(const Clock& clock, AdaptiveLimiterOptions options, LimiterObserver* observer = nullptr);

    // Waits until a call may go (fewer than `limit` in flight and no Retry-After pending) and
    // takes its place. Waits go through `sleep` (stoppable at shutdown; a zero wait only asks
    // whether to go on) and, for a free place, a short wait on release(). Nothing when `sleep`
    // said stop.
    std::optional<Permit> acquire(const SleepFunction& sleep);
    // Takes a place only if one is free now.
    std::optional<Permit> try_acquire();
    // The call ended so; `retry_after` is the provider's, when it sent one. `operation` names
    // the kind of call: a latency is judged against the recent median of its own kind (a list
    // page and a deletion take different times; neither makes the other look slow).
    void release(const Permit& permit, CallSignal signal,
                 std::optional<std::chrono::seconds> retry_after = std::nullopt,
                 std::string_view operation = {});
    // The call was not made after all (the breaker refused it): its place is free again.
    void cancel(const Permit& permit);

    int limit() const;
    int in_flight() const;
    LimiterStats stats() const;
    const AdaptiveLimiterOptions& options() const { return options_; }

  private:
    using TimePoint = std::chrono::steady_clock::time_point;
    bool free_locked(TimePoint now) const;
    void set_limit_locked(int limit);
    void congestion_locked(const Permit& permit, TimePoint now);
    std::optional<std::chrono::milliseconds> median_locked(std::string_view operation) const;

    const Clock& clock_;
    const AdaptiveLimiterOptions options_;
    LimiterObserver* observer_;

    mutable std::mutex mutex_;
    std::condition_variable released_;
    int limit_;
    int good_ = 0;  // good calls since the limit last grew (additive phase)
    bool slow_start_ = true;
    int in_flight_ = 0;
    TimePoint last_saturated_{};  // when in-flight last reached the limit
    TimePoint last_decrease_{};
    TimePoint hold_until_{};                                                               // Retry-After
    std::map<std::string, std::deque<std::chrono::milliseconds>, std::less<>> latencies_;  // by operation
    std::string last_operation_;  // whose median stats() reports
    LimiterStats stats_;
};

}  // namespace broker
