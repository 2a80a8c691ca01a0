// Decides which provider requests the simulator spoils, the way the real provider misbehaves:
// at `fail_rate` a request fails, either with an HTML 500 (an outage) or with a 429 and
// Retry-After (throttling), split by `throttle_share`; and every provider request is slowed
// by `latency`. Seeded, so a run with the same seed and request order fails the same way.
// Thread-safe; settings can change while serving (POST /_sim/faults).
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

    static constexpr std::chrono::milliseconds kMaxLatency{60'000};
};

// Why the settings are unusable, naming the field; nothing when they are fine.
std::optional<std::string> invalid_reason(const FaultSettings& settings);

struct FaultCounts {
    std::uint64_t server_errors = 0;
    std::uint64_t throttled = 0;
};

class FaultInjector {
  public:
    // Throws std::invalid_argument for settings invalid_reason() refuses.
    FaultInjector(FaultSettings settings, std::uint64_t seed);

    // Replaces the settings; throws std::invalid_argument like the constructor.
    void set(const FaultSettings& settings);
    FaultSettings settings() const;

    // The fate of one provider request; counted.
    Fault draw();

    FaultCounts counts() const;

  private:
    mutable std::mutex mutex_;
    FaultSettings settings_;
    std::mt19937_64 random_;
    FaultCounts counts_;
};

}  // namespace broker::sim
