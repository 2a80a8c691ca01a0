// The outbox: every state change of a sandbox (and a few pool and job happenings) written as an
// event in the same store transaction as the change, with an id that increases per store. The
// live event stream and the webhook delivery read it from here; nothing is ever sent from
// inside a store transaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace broker {

struct OutboxEvent {
    std::int64_t id = 0;      // increases per store; a reader resumes after the last it saw
    std::string type;         // "sandbox.allocated", "pool.low", "job.failed", ...
    UnixSeconds at = 0;       // when the change happened
    std::string sandbox_id;   // empty for events not about one sandbox
    std::string track;        // the track the sandbox was allocated to, when it was
    std::string payload;      // the event as delivered: a JSON object (id, type, time, data)
};

class EventStore {
public:
    virtual ~EventStore() = default;

    // Events with an id above `after_id`, oldest first, at most `limit`. Only ids that are
    // final are returned: no event with a lower id can appear after this call, so a reader
    // that resumes from the last id it saw sees every later event exactly once.
    virtual std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) = 0;

    // An event not tied to one sandbox's change (pool.low, pool.recovered, job.failed,
    // webhook.disabled). `data` is a JSON object; the store wraps it into the payload.
    virtual void append_event(std::string_view type, std::string_view data_json, UnixSeconds now) = 0;

    // The id of the newest final event (0 when there is none).
    virtual std::int64_t last_event_id() = 0;

    // Removes events with an id up to `delivered_up_to` that happened before `older_than`;
    // returns how many.
    virtual std::int64_t prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) = 0;
};

}  // namespace broker
