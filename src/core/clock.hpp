// Time as an injected dependency: every expiry, lease, timeout and schedule asks a Clock,
// so tests move time instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace broker {

// Wall-clock time in whole seconds since the Unix epoch: the unit of every `*_at` field
// (the original API returns `allocated_at` / `expires_at` as such integers).
using UnixSeconds = std::int64_t;

class Clock {
public:
    virtual ~Clock() = default;
    // Current wall-clock time, seconds since the Unix epoch.
    virtual UnixSeconds now() const = 0;
    // Monotonic time for measuring durations and timeouts; never goes backwards.
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
public:
    UnixSeconds now() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::now();
    }
};

// A clock that only moves when told to; safe to read and advance from several threads.
// It keeps milliseconds so rate limits and latencies can be tested below one second;
// `now()` is the whole seconds of that.
class ManualClock final : public Clock {
public:
    explicit ManualClock(UnixSeconds start = 1'700'000'000) : now_ms_(start * 1000) {}
    UnixSeconds now() const override { return now_ms_.load() / 1000; }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
    }
    void advance(std::chrono::seconds by) { now_ms_ += by.count() * 1000; }
    void advance_ms(std::chrono::milliseconds by) { now_ms_ += by.count(); }
    void set(UnixSeconds t) { now_ms_ = t * 1000; }

private:
    std::atomic<std::int64_t> now_ms_;
};

}  // namespace broker
