// Sets a store's outbox up for this process: the EVENTS_ENABLED switch, and counting the
// events it writes (broker_events_written_total{type}).
#pragma once

#include "core/env_value.hpp"
#include "obs/metrics.hpp"
#include "store/store.hpp"

namespace broker {

// EVENTS_ENABLED (default true); a value that is not a boolean throws ConfigError.
bool events_enabled_from_env(const EnvLookup& env);

// Turns the store's outbox on or off (EVENTS_ENABLED); nothing for a store without one.
void configure_outbox(Store& store, bool events_enabled);

// Counts every event this process writes into `registry`. Call before the store is shared
// with other threads.
void count_events_written(Store& store, MetricsRegistry& registry);

}  // namespace broker
