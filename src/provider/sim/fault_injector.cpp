#include "provider/sim/fault_injector.hpp"

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
    if (settings.latency.count() < 0 || settings.latency > FaultSettings::kMaxLatency) {
        return "latency_ms must be between 0 and " + std::to_string(FaultSettings::kMaxLatency.count());
    }
    return std::nullopt;
}

FaultInjector::FaultInjector(FaultSettings settings, std::uint64_t seed) : random_(seed) {
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

FaultCounts FaultInjector::counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

}  // namespace broker::sim
