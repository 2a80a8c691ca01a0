// The drain before a graceful stop, for load balancers: on SIGTERM `serve` and `run` first
// answer /readyz with 503 for SHUTDOWN_DRAIN_SEC while still serving everything else (the
// balancer takes the replica out of rotation), then stop taking connections and finish the
// requests in flight. A second SIGTERM or SIGINT during the drain ends it at once.
#pragma once

#include <signal.h>

#include <chrono>

#include "core/clock.hpp"
#include "core/env_value.hpp"

namespace broker {

// SHUTDOWN_DRAIN_SEC: 0 (the default: stop at once) to 3600; ConfigError otherwise.
std::chrono::seconds load_shutdown_drain(const EnvLookup& env);

// Waits `drain` of `clock`'s monotonic time for another of `signals` (blocked in every
// thread); true when one came.
bool wait_out_drain(const sigset_t& signals, std::chrono::seconds drain, const Clock& clock);

}  // namespace broker
