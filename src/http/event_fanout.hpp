// The live event stream's one reader per process: EventFanout hands every event read from the
// outbox to each connected stream client whose filter takes it, through a bounded queue per
// client (a client whose queue is full is dropped rather than buffered without bound; it
// resumes with Last-Event-ID), and EventPoller is the single thread that reads the outbox
// (every EVENTS_POLL_MS, sooner when woken) while any client is connected, so idle clients
// cost no store reads and nothing on the allocation path.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/event_store.hpp"

namespace broker {

// Which events a client asked for: `?type=` (a comma list of types; one ending in '.' or
// ".*" is a prefix, "sandbox." takes every sandbox event) and `?track=`. Empty: everything.
struct EventFilter {
    std::vector<std::string> types;     // exact types
    std::vector<std::string> prefixes;  // type prefixes, with their '.'
    std::string track;                  // empty: any track (and events of no track)

    // Nothing when a listed type is empty or holds a character no type has.
    static std::optional<EventFilter> parse(std::string_view types, std::string_view track);
    bool matches(const OutboxEvent& event) const;
};

// One event as the stream writes it: `id:`, `event:` (the type) and `data:` (the payload, one
// `data:` line per line of it), then the blank line that ends an event.
std::string format_sse_event(const OutboxEvent& event);

// An event ready to be written, shared by every client that takes it (formatted once).
struct StreamEvent {
    std::int64_t id = 0;
    std::string text;  // format_sse_event()
};

class EventFanout {
  public:
    // Called (outside the fan-out's lock, on the poller's or the closing thread) when a
    // client's queue has something new, or the client was dropped or closed. Must be quick.
    using Notify = std::function<void()>;

    class Subscription {
      public:
        // The events queued since the last call, oldest first.
        std::vector<std::shared_ptr<const StreamEvent>> take();
        // The reader's position when the client joined: every event after it is queued
        // (if the filter takes it). Unknown until the poller's first read after a quiet spell.
        std::optional<std::int64_t> start_after() const;
        // The queue overflowed: the client is to be disconnected (and resumes by id).
        bool dropped() const;
        // The stream is shutting down.
        bool closed() const;

      private:
        friend class EventFanout;
        Subscription(EventFilter filter, Notify notify)
            : filter_(std::move(filter)), notify_(std::move(notify)) {}

        const EventFilter filter_;
        const Notify notify_;
        mutable std::mutex mutex_;
        std::deque<std::shared_ptr<const StreamEvent>> queue_;
        std::optional<std::int64_t> start_after_;
        bool dropped_ = false;
        bool closed_ = false;
    };

    // `queue_max`: events queued per client at most (EVENTS_CLIENT_QUEUE_MAX).
    explicit EventFanout(std::size_t queue_max) : queue_max_(queue_max) {}

    // A new client. Null once closed.
    std::shared_ptr<Subscription> subscribe(EventFilter filter, Notify notify);
    // The client left (its stream ended); idempotent.
    void unsubscribe(const std::shared_ptr<Subscription>& subscription);

    // The reader's side. Whether anyone listens; when nobody does, the position is forgotten
    // (the next client starts at the newest event, read afresh) and nothing needs reading.
    bool has_clients();
    // The position to read after; nothing when it is to be read afresh (last_event_id).
    std::optional<std::int64_t> position() const;
    // Sets the position (the newest event id) after a quiet spell; clients waiting for it
    // start there.
    void begin_at(std::int64_t newest_id);
    // Events read after position(), oldest first: queued to every client that takes them,
    // the position moved to the last one. A client whose queue would pass queue_max is dropped.
    void deliver(const std::vector<OutboxEvent>& events);

    // Shutdown: every client is told to end its stream; no new one is taken.
    void close();
    bool is_closed() const { return closed_.load(std::memory_order_acquire); }

    // broker_event_stream_clients and broker_event_stream_dropped_total.
    std::size_t clients() const { return clients_.load(std::memory_order_relaxed); }
    std::uint64_t dropped_total() const { return dropped_total_.load(std::memory_order_relaxed); }

  private:
    const std::size_t queue_max_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Subscription>> subscriptions_;
    std::optional<std::int64_t> position_;
    std::atomic<std::size_t> clients_{0};
    std::atomic<std::uint64_t> dropped_total_{0};
    std::atomic<bool> closed_{false};
};

// The one thread that reads the outbox for the fan-out. Reads only while clients are
// connected: every `interval`, and at once when woken (this process wrote an event, a client
// joined after a quiet spell). A failed read is logged (at most once a minute) and retried at
// the next tick; clients keep their place.
class EventPoller {
  public:
    EventPoller(EventStore& store, EventFanout& fanout, std::chrono::milliseconds interval);
    ~EventPoller();  // stop()

    EventPoller(const EventPoller&) = delete;
    EventPoller& operator=(const EventPoller&) = delete;

    // Read now rather than at the next tick. Cheap; safe from any thread.
    void wake();
    void stop();

    // One round, as the thread runs it: exposed for tests.
    void poll_once();

  private:
    void run();

    static constexpr int kBatch = 500;

    EventStore& store_;
    EventFanout& fanout_;
    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool woken_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point failure_logged_{};
    std::thread thread_;
};

}  // namespace broker
