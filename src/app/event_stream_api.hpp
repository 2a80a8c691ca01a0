// The live event stream wired for one API process (`serve`, `run`): the fan-out to stream
// clients, its one outbox reader, the route, and the gauges broker_event_stream_clients and
// broker_event_stream_dropped_total. On a store that keeps no events the route answers 503.
#pragma once

#include <memory>
#include <string>

#include "http/event_fanout.hpp"
#include "http/event_stream_options.hpp"
#include "http/handlers/event_stream_handlers.hpp"
#include "obs/metrics.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/store.hpp"

namespace broker {

class EventStreamApi {
  public:
    // Everything given outlives this object.
    EventStreamApi(const EventStreamOptions& options, EventStore* events, BlockingPool& pool,
                   MetricsRegistry& metrics);
    ~EventStreamApi();  // stop()

    void add_routes(Router& router, const std::string& base_path) { handlers_.add_routes(router, base_path); }

    // Something was written to the outbox by this process: read it now.
    void wake() {
        if (poller_) poller_->wake();
    }

    // Shutdown: every stream ends now (its client reconnects elsewhere with its last id) and
    // the reader stops. Call before the server stops, so that streams do not hold it.
    void stop();

  private:
    EventStore* events_;
    std::unique_ptr<EventFanout> fanout_;
    std::unique_ptr<EventPoller> poller_;
    EventStreamHandlers handlers_;
};

}  // namespace broker
