// GET {base}/admin/events: the live event stream, as server-sent events (text/event-stream),
// for the admin and viewer roles (and a dashboard session). `?type=` (comma list; "sandbox."
// a prefix) and `?track=` filter it. A client that sends `Last-Event-ID` (or
// `?last_event_id=`) first gets every later event from the outbox, then the live ones;
// without it the stream starts at the newest event. Live events come from the process's one
// reader (http/event_fanout); a comment line every EVENTS_KEEPALIVE_SEC keeps a quiet stream
// open through proxies. The stream ends (cleanly, with the last chunk) when the client's
// queue overflows or the process shuts down; EventSource then reconnects with the last id.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "http/event_fanout.hpp"
#include "http/router.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/event_store.hpp"

namespace broker {

class EventStreamHandlers {
  public:
    // `store` and `fanout` null: the store keeps no events, and the route answers 503.
    // `wake_reader`: asks the reader to read now (a client joined after a quiet spell).
    EventStreamHandlers(EventStore* store, EventFanout* fanout, BlockingPool& pool,
                        std::chrono::seconds keepalive, std::function<void()> wake_reader)
        : store_(store),
          fanout_(fanout),
          pool_(pool),
          keepalive_(keepalive),
          wake_reader_(std::move(wake_reader)) {}

    // Registers GET {base_path}/admin/events. This object must outlive the router.
    void add_routes(Router& router, const std::string& base_path);

    asio::awaitable<Response> events(RequestContext& ctx);

  private:
    EventStore* store_;
    EventFanout* fanout_;
    BlockingPool& pool_;
    const std::chrono::seconds keepalive_;
    const std::function<void()> wake_reader_;
};

}  // namespace broker
