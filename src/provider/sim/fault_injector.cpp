#include "provider/sim/fault_injector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace broker::sim {
namespace {

bool is_share(double value) {
    return std::isfinite(value) && value >= 0.0 && value <= 1.0;
}

}  // namespace

std::optional<std::string> invalid_reason(const FaultSettings& settings) {
    if (!is_share(settings.fail_rate)) return "fail_rate must be between 0 and 1";
    if (!is_share(settings.throttle_share)) return "throttle_share must be between 0 and 1";
    if (!is_share(settings.jitter)) return "jitter must be between 0 and 1";
    if (!std::isfinite(settings.capacity_rps) || settings.capacity_rps < 0 || settings.capacity_rps > 1e6) {
        return "capacity_rps must be between 0 and 1000000";
    }
    if (settings.overload_status != 429 && settings.overload_status != 500)
        return "overload must be 429 or 500";
    if (settings.retry_after_sec < 0 || settings.retry_after_sec > 3600) {
        return "retry_after_sec must be between 0 and 3600";
    }
    if (settings.latency.count() < 0 || settings.latency > FaultSettings::kMaxLatency) {
        return "latency_ms must be between 0 and " + std::to_string(FaultSettings::kMaxLatency.count());
    }
    return std::nullopt;
}

FaultInjector::FaultInjector(FaultSettings settings, std::uint64_t seed)
    : random_(seed), jitter_random_(seed ^ 0x5851f42d4c957f2dULL) {
    set(settings);
}

void FaultInjector::set(const FaultSettings& settings) {
    if (auto why = invalid_reason(settings)) throw std::invalid_argument(*why);
    std::lock_guard lock(mutex_);
    settings_ = settings;
}

FaultSettings FaultInjector::settings() const {
    std::lock_guard lock(mutex_);
    return settings_;
}

Fault FaultInjector::draw() {
    std::lock_guard lock(mutex_);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    // Two draws per request whatever the settings, so changing a rate does not shift which
    // later requests fail for reasons other than that rate.
    const double fails = unit(random_);
    const double kind = unit(random_);
    if (fails >= settings_.fail_rate) return Fault::none;
    if (kind < settings_.throttle_share) {
        ++counts_.throttled;
        return Fault::throttled;
    }
    ++counts_.server_errors;
    return Fault::server_error;
}

std::optional<Fault> FaultInjector::admit(std::chrono::steady_clock::time_point now) {
    constexpr auto kBurst = std::chrono::seconds(1);
    std::lock_guard lock(mutex_);
    if (settings_.capacity_rps > 0) {
        const double full = std::max(1.0, settings_.capacity_rps);
        if (tokens_ < 0) {
            tokens_ = full;
            refilled_ = now;
        } else if (now > refilled_) {
            const double elapsed = std::chrono::duration<double>(now - refilled_).count();
            tokens_ = std::min(full, tokens_ + elapsed * settings_.capacity_rps);
            refilled_ = now;
        }
        tokens_ = std::min(tokens_, full);  // the capacity may have been lowered meanwhile
        if (now < burst_until_ || tokens_ < 1.0) {
            ++counts_.refused;
            if (settings_.overload_status == 500) {
                // An overloaded provider fails for a while, not request by request.
                if (now >= burst_until_) burst_until_ = now + kBurst;
                return Fault::server_error;
            }
            return Fault::throttled;
        }
        tokens_ -= 1.0;
    }
    ++counts_.admitted;
    return std::nullopt;
}

std::chrono::milliseconds FaultInjector::latency() {
    std::lock_guard lock(mutex_);
    if (settings_.latency.count() == 0 || settings_.jitter == 0) return settings_.latency;
    std::uniform_real_distribution<double> spread(-settings_.jitter, settings_.jitter);
    const double ms = static_cast<double>(settings_.latency.count()) * (1.0 + spread(jitter_random_));
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, ms)));
}

FaultCounts FaultInjector::counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

}  // namespace broker::sim
