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
class ManualClock final : public Clock {
public:
    explicit ManualClock(UnixSeconds start = 1'700'000'000) : now_(start) {}
    UnixSeconds now() const override { return now_.load(); }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point(std::chrono::seconds(now_.load()));
    }
    void advance(std::chrono::seconds by) { now_ += by.count(); }
    void set(UnixSeconds t) { now_ = t; }

private:
    std::atomic<UnixSeconds> now_;
};

}  // namespace broker
