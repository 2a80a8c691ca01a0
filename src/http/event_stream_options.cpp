// The live event stream's settings: see event_stream_options.hpp.
#include "http/event_stream_options.hpp"

namespace broker {

EventStreamOptions load_event_stream_options(const EnvLookup& env) {
    EventStreamOptions o;
    if (auto v = env_number<int>(env, "EVENTS_KEEPALIVE_SEC", 1, 3600))
        o.keepalive = std::chrono::seconds(*v);
    if (auto v = env_number<int>(env, "EVENTS_POLL_MS", 20, 10'000)) o.poll = std::chrono::milliseconds(*v);
    if (auto v = env_number<std::size_t>(env, "EVENTS_CLIENT_QUEUE_MAX", 1, 1'000'000))
        o.client_queue_max = *v;
    return o;
}

}  // namespace broker
