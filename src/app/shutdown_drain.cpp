#include "app/shutdown_drain.hpp"

#include <cerrno>
#include <ctime>

namespace broker {

std::chrono::seconds load_shutdown_drain(const EnvLookup& env) {
    return std::chrono::seconds(env_number<int>(env, "SHUTDOWN_DRAIN_SEC", 0, 3600).value_or(0));
}

bool wait_out_drain(const sigset_t& signals, std::chrono::seconds drain) {
    if (drain.count() <= 0) return false;
    // Real time, not the injected Clock: this is the process's signal loop, waiting for a balancer.
    const auto deadline = std::chrono::steady_clock::now() + drain;
    for (;;) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return false;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                               static_cast<long>(ns % 1'000'000'000)};
        if (sigtimedwait(&signals, nullptr, &timeout) >= 0) return true;
        if (errno == EAGAIN) return false;
        // EINTR: another signal's handler ran; wait out the rest.
    }
}

}  // namespace broker
