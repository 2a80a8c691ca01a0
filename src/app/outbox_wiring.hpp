// Sets a store's outbox up for this process: the EVENTS_ENABLED switch, and counting the
// events it writes (broker_events_written_total{type}).
#pragma once

#include "core/env_value.hpp"
#include "obs/metrics.hpp"
#include "store/outbox.hpp"

namespace broker {

// EVENTS_ENABLED (default true); a value that is not a boolean throws ConfigError.
bool events_enabled_from_env(const EnvLookup& env);

// Turns the store's outbox on or off (EVENTS_ENABLED).
void configure_outbox(OutboxControl& outbox, bool events_enabled);

// Counts every event this process writes into `registry`. Call before the store is shared
// with other threads.
void count_events_written(OutboxControl& outbox, MetricsRegistry& registry);

}  // namespace broker
