// Wiring of the live event stream: see event_stream_api.hpp.
#include "app/event_stream_api.hpp"

namespace broker {

EventStreamApi::EventStreamApi(const EventStreamOptions& options, EventStore* events, BlockingPool& pool,
                               MetricsRegistry& metrics)
    : events_(events),
      fanout_(events_ ? std::make_unique<EventFanout>(options.client_queue_max) : nullptr),
      poller_(events_ ? std::make_unique<EventPoller>(*events_, *fanout_, options.poll) : nullptr),
      handlers_(events_, fanout_.get(), pool, options.keepalive, [this] { wake(); }) {
    metrics.add_collector([this] {
        const double clients = fanout_ ? static_cast<double>(fanout_->clients()) : 0.0;
        const double dropped = fanout_ ? static_cast<double>(fanout_->dropped_total()) : 0.0;
        std::vector<MetricFamily> families;
        families.push_back({"broker_event_stream_clients",
                            "Clients connected to the live event stream right now",
                            MetricType::gauge,
                            {{"", {}, clients}}});
        families.push_back(
            {"broker_event_stream_dropped_total",
             "Event stream clients disconnected because they read too slowly (their queue was full)",
             MetricType::counter,
             {{"", {}, dropped}}});
        return families;
    });
}

EventStreamApi::~EventStreamApi() {
    stop();
}

void EventStreamApi::stop() {
    if (fanout_) fanout_->close();
    if (poller_) poller_->stop();
}

}  // namespace broker
