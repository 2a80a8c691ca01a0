// How long the end-to-end fixtures' waits for an event (a line of output, a condition, a
// stream's data) give it at least before calling it missing.
#pragma once

#include <algorithm>
#include <chrono>

namespace broker::e2e {

// Such a wait only bounds a hang, never a figure, so a busy machine (ctest -j2 beside other
// builds) makes a test slower, never failing it: a shorter limit asked for is raised to this
// one. A test that measures a duration keeps a clock of its own.
inline constexpr std::chrono::milliseconds kHangBound{std::chrono::seconds(60)};

inline std::chrono::milliseconds hang_bound(std::chrono::milliseconds asked) {
    return std::max(asked, kHangBound);
}

}  // namespace broker::e2e
