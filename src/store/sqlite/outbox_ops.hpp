// The SQLite store's outbox: the event a recorded transition writes in the writer's
// transaction, events not tied to one sandbox, the readers' view, pruning, and the pool's
// low-watermark state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sandbox.hpp"
#include "store/event_store.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// Called where a transition is recorded (record_event): writes its event, when the
// connection has an outbox that is on and the transition is one (transition_event_type).
// `after` is the row as the change left it when the caller holds it (allocation, return,
// extension: the hot path reads nothing again); null, it is read in the transaction.
void write_transition_event(Connection& conn, const std::string& sandbox_id, const Sandbox* after,
                            UnixSeconds at, std::optional<SandboxStatus> from,
                            std::optional<SandboxStatus> to, std::string_view actor, std::string_view reason);

// An event not tied to one sandbox; nothing when the connection's outbox is off or absent.
void append_event(Connection& conn, std::string_view type, std::string_view data_json, UnixSeconds now);

std::vector<OutboxEvent> read_events(Connection& conn, std::int64_t after_id, int limit);
std::int64_t last_event_id(Connection& conn);
std::int64_t prune_events(Connection& conn, std::int64_t delivered_up_to, UnixSeconds older_than);

bool pool_low(Connection& conn);
bool set_pool_low(Connection& conn, bool low, std::string_view data_json, UnixSeconds now);

}  // namespace broker::sqlite
