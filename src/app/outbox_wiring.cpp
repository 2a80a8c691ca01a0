// The outbox's wiring: see outbox_wiring.hpp.
#include "app/outbox_wiring.hpp"

#include <string>

#include "store/outbox.hpp"

namespace broker {

bool events_enabled_from_env(const EnvLookup& env) {
    return env_bool(env, "EVENTS_ENABLED").value_or(true);
}

void configure_outbox(OutboxControl& outbox, bool events_enabled) {
    outbox.set_events_enabled(events_enabled);
}

void count_events_written(OutboxControl& outbox, MetricsRegistry& registry) {
    CounterFamily& written =
        registry.counter_family("broker_events_written_total",
                                "Lifecycle events this process wrote to the outbox, by type.", {"type"});
    outbox.set_written_observer([&written](std::string_view type) { written.with_labels({type}).inc(); });
}

}  // namespace broker
