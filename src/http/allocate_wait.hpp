// Allocation with wait: the settings (ALLOCATE_MAX_WAIT_SEC, ALLOCATE_MAX_WAITERS,
// ALLOCATE_WAIT_POLL_MS) and how a request asks to wait: `Prefer: wait=N` (RFC 7240) or the
// `wait=N` query parameter, N whole seconds. Other preferences are ignored, as RFC 7240 says;
// a `wait` whose value is not a number of seconds is the client's mistake and answered 400.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/env_value.hpp"

namespace broker {

struct AllocateWaitOptions {
    std::chrono::seconds max_wait{60};     // ALLOCATE_MAX_WAIT_SEC: a longer wait is capped; 0: never wait
    std::size_t max_waiters = 10'000;      // ALLOCATE_MAX_WAITERS: beyond, the plain 409 at once
    std::chrono::milliseconds poll{1500};  // ALLOCATE_WAIT_POLL_MS: the safety-net poll, ±25% jitter
};

// Throws ConfigError naming a setting out of range.
AllocateWaitOptions load_allocate_wait_options(const EnvLookup& env);

// What a request asked: no wait, a wait of so many seconds (before capping), or a malformed
// value (the message says which).
struct WaitAsked {
    std::optional<std::chrono::seconds> wait;
    std::optional<std::string> error;
};

// `prefer`: the Prefer header's value (may be empty); `query_wait`: the `wait` query
// parameter when present. The query parameter wins when both are given. A value beyond a
// day is read as a day (it is capped far lower anyway).
WaitAsked read_wait(std::string_view prefer, const std::optional<std::string>& query_wait);

}  // namespace broker
