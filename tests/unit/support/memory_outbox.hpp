// An in-memory outbox for the tests of its readers (the event stream's fan-out and route):
// events appended here get the next id; reads count, so a test can see when nothing was read.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "store/event_store.hpp"

namespace broker::testing {

inline OutboxEvent outbox_event(std::int64_t id, std::string type, std::string track = "") {
    OutboxEvent e;
    e.id = id;
    e.type = std::move(type);
    e.track = std::move(track);
    e.payload = R"({"id":)" + std::to_string(id) + R"(,"type":")" + e.type + R"("})";
    return e;
}

class MemoryOutbox final : public EventStore {
  public:
    std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) override {
        std::lock_guard lock(mutex_);
        ++reads_;
        std::vector<OutboxEvent> out;
        for (const auto& e : events_) {
            if (e.id > after_id && static_cast<int>(out.size()) < limit) out.push_back(e);
        }
        return out;
    }
    void append_event(std::string_view type, std::string_view, UnixSeconds) override {
        add(std::string(type));
    }
    std::int64_t last_event_id() override {
        std::lock_guard lock(mutex_);
        ++reads_;
        return events_.empty() ? 0 : events_.back().id;
    }
    std::int64_t prune_events(std::int64_t, UnixSeconds) override { return 0; }

    // Appends an event of `type` (of `track`, with a payload of `payload_bytes` at least).
    std::int64_t add(const std::string& type, const std::string& track = "", std::size_t payload_bytes = 0) {
        std::lock_guard lock(mutex_);
        auto e = outbox_event(static_cast<std::int64_t>(events_.size()) + 1, type, track);
        if (payload_bytes > e.payload.size()) {
            e.payload.insert(e.payload.size() - 1, R"(,"pad":")" + std::string(payload_bytes, 'x') + "\"");
        }
        events_.push_back(std::move(e));
        return events_.back().id;
    }
    int reads() {
        std::lock_guard lock(mutex_);
        return reads_;
    }

  private:
    std::mutex mutex_;
    std::vector<OutboxEvent> events_;
    int reads_ = 0;
};

}  // namespace broker::testing
