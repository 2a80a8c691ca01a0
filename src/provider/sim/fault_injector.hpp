// Decides which provider requests the simulator spoils, the way the real provider misbehaves:
// at `fail_rate` a request fails, either with an HTML 500 (an outage) or with a 429 and
// Retry-After (throttling), split by `throttle_share`; and every provider request is slowed
// by `latency` (± `jitter` of it). Like the real provider under load it also has a capacity:
// a token bucket of `capacity_rps` requests a second (a second's worth at once); beyond it,
// it refuses at once, with a 429 and Retry-After (`overload` 429) or with a burst of HTML
// 500s lasting a second (500).
// Seeded, so a run with the same seed and request order fails the same way. Thread-safe;
// settings can change while serving (POST /_sim/faults).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace broker::sim {

enum class Fault { none, server_error, throttled };

struct FaultSettings {
    double fail_rate = 0.0;                // share of provider requests that fail, [0, 1]
    std::chrono::milliseconds latency{0};  // added to every provider request
    double throttle_share = 0.5;           // of the failures, the share answered 429 rather than 500
    double jitter = 0.0;                   // latency varies uniformly by ± this share of it, [0, 1]
    double capacity_rps = 0.0;             // requests begun per second it serves; 0: no limit
    int overload_status = 429;             // how it refuses beyond capacity: 429 or 500
    int retry_after_sec = 1;               // the Retry-After of its 429s, [0, 3600]

    static constexpr std::chrono::milliseconds kMaxLatency{60'000};
};

// Why the settings are unusable, naming the field; nothing when they are fine.
std::optional<std::string> invalid_reason(const FaultSettings& settings);

struct FaultCounts {
    std::uint64_t server_errors = 0;  // drawn at fail_rate
    std::uint64_t throttled = 0;
    std::uint64_t refused = 0;   // beyond capacity (429 or 500)
    std::uint64_t admitted = 0;  // within capacity (served, or failed by fail_rate)
};

class FaultInjector {
  public:
    // Throws std::invalid_argument for settings invalid_reason() refuses.
    FaultInjector(FaultSettings settings, std::uint64_t seed);

    // Replaces the settings; throws std::invalid_argument like the constructor.
    void set(const FaultSettings& settings);
    FaultSettings settings() const;

    // Whether a request arriving at `now` is within capacity: nothing when it is (and it is
    // counted against the capacity), else how it is refused. Counted.
    std::optional<Fault> admit(std::chrono::steady_clock::time_point now);
    // The fate of one admitted provider request; counted.
    Fault draw();
    // How long this request takes: latency ± jitter.
    std::chrono::milliseconds latency();

    FaultCounts counts() const;

  private:
    mutable std::mutex mutex_;
    FaultSettings settings_;
    std::mt19937_64 random_;
    std::mt19937_64 jitter_random_;  // apart, so jitter does not shift which requests fail
    FaultCounts counts_;
    double tokens_ = -1;  // the capacity's bucket; negative until the first request
    std::chrono::steady_clock::time_point refilled_{};
    std::chrono::steady_clock::time_point burst_until_{};
};

}  // namespace broker::sim
