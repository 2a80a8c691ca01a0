// The SQLite store's outbox: see outbox_ops.hpp.
#include "store/sqlite/outbox_ops.hpp"

#include "sql/sqlite_queries.hpp"
#include "store/outbox.hpp"
#include "store/sqlite/sandbox_ops.hpp"

namespace broker::sqlite {
namespace {

void insert_event(Connection& conn, const OutboxControl& outbox, std::string_view type, UnixSeconds at,
                  std::string_view sandbox_id, std::string_view track, std::string_view data_json) {
    auto q = conn.query(sql::kInsertOutboxEvent);
    // The texts are parameters, alive until the Query ends: bound without a copy.
    q.bind_view(1, type).bind(2, at).bind_view(3, sandbox_id).bind_view(4, track).bind_view(5, data_json);
    q.run();
    outbox.event_written(type);
}

}  // namespace

void write_transition_event(Connection& conn, const std::string& sandbox_id, const Sandbox* after,
                            UnixSeconds at, std::optional<SandboxStatus> from,
                            std::optional<SandboxStatus> to, std::string_view actor,
                            std::string_view reason) {
    const OutboxControl* outbox = conn.outbox();
    if (outbox == nullptr || !outbox->events_enabled()) return;
    const auto type = transition_event_type(from, to, actor);
    if (!type) return;
    std::optional<Sandbox> read;
    if (after == nullptr) {
        // The row as the change left it, read in the same transaction.
        read = find_sandbox(conn, sandbox_id);
        if (!read) return;
        after = &*read;
    }
    // The writer's thread builds every event's data in one buffer (SQLite copies the bytes).
    thread_local std::string data;
    data.clear();
    append_transition_event_data(data, *after, from, actor, reason);
    insert_event(conn, *outbox, *type, at, sandbox_id, after->track_name, data);
}

void append_event(Connection& conn, std::string_view type, std::string_view data_json, UnixSeconds now) {
    const OutboxControl* outbox = conn.outbox();
    if (outbox == nullptr || !outbox->events_enabled()) return;
    insert_event(conn, *outbox, type, now, "", "", data_json);
}

std::vector<OutboxEvent> read_events(Connection& conn, std::int64_t after_id, int limit) {
    std::vector<OutboxEvent> events;
    if (limit <= 0) return events;
    auto q = conn.query(sql::kReadOutboxEvents);
    q.bind(1, after_id).bind(2, static_cast<std::int64_t>(limit));
    while (q.step()) {
        OutboxEvent e;
        e.id = q.integer(0);
        e.type = q.text(1);
        e.at = q.integer(2);
        e.sandbox_id = q.text(3);
        e.track = q.text(4);
        e.payload = event_payload(e.id, e.type, e.at, q.text(5));
        events.push_back(std::move(e));
    }
    return events;
}

std::int64_t last_event_id(Connection& conn) {
    auto q = conn.query(sql::kLastOutboxEventId);
    return q.step() ? q.integer(0) : 0;
}

std::int64_t prune_events(Connection& conn, std::int64_t delivered_up_to, UnixSeconds older_than) {
    auto q = conn.query(sql::kPruneOutboxEvents);
    q.bind(1, delivered_up_to).bind(2, older_than);
    q.run();
    return conn.changes();
}

bool pool_low(Connection& conn) {
    auto q = conn.query(sql::kPoolLow);
    return q.step() && q.integer(0) != 0;
}

bool set_pool_low(Connection& conn, bool low, std::string_view data_json, UnixSeconds now) {
    {
        auto q = conn.query(sql::kSetPoolLow);
        q.bind(1, static_cast<std::int64_t>(low)).bind(2, now);
        q.run();
        if (conn.changes() != 1) return false;
    }
    append_event(conn, low ? kEventPoolLow : kEventPoolRecovered, data_json, now);
    return true;
}

}  // namespace broker::sqlite
