#include "app/shutdown_drain.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "core/clock_file.hpp"

namespace broker {

std::chrono::seconds load_shutdown_drain(const EnvLookup& env) {
    return std::chrono::seconds(env_number<int>(env, "SHUTDOWN_DRAIN_SEC", 0, 3600).value_or(0));
}

bool wait_out_drain(const sigset_t& signals, std::chrono::seconds drain, const Clock& clock) {
    if (drain.count() <= 0) return false;
    // The system clock's monotonic time is the machine's: one sigtimedwait for the whole rest.
    // The end-to-end tests' clock also jumps when a test moves it, which wakes no signal wait:
    // there the wait looks at the clock as often as the clock's watcher looks at its file.
    const bool test_clock = dynamic_cast<const FileClock*>(&clock) != nullptr;
    const auto deadline = clock.steady_now() + drain;
    for (;;) {
        auto left = deadline - clock.steady_now();
        if (left <= std::chrono::steady_clock::duration::zero()) return false;
        if (test_clock) left = std::min<std::chrono::steady_clock::duration>(left, FileClock::kWatchInterval);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                               static_cast<long>(ns % 1'000'000'000)};
        if (sigtimedwait(&signals, nullptr, &timeout) >= 0) return true;
        if (errno == EAGAIN && !test_clock) return false;
        // EINTR: another signal's handler ran; wait out the rest.
    }
}

}  // namespace broker
