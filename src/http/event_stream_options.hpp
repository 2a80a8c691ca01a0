// The live event stream's settings: EVENTS_KEEPALIVE_SEC (a comment line on a quiet stream, so
// proxies and load balancers do not take it for idle), EVENTS_POLL_MS (how often the process's
// one reader looks at the outbox while clients are connected) and EVENTS_CLIENT_QUEUE_MAX
// (events waiting for one client at most; a client further behind is dropped and resumes).
#pragma once

#include <chrono>
#include <cstddef>

#include "core/env_value.hpp"

namespace broker {

struct EventStreamOptions {
    std::chrono::seconds keepalive{15};   // EVENTS_KEEPALIVE_SEC
    std::chrono::milliseconds poll{250};  // EVENTS_POLL_MS
    std::size_t client_queue_max = 1000;  // EVENTS_CLIENT_QUEUE_MAX
};

// Throws ConfigError naming a setting out of range.
EventStreamOptions load_event_stream_options(const EnvLookup& env);

}  // namespace broker
