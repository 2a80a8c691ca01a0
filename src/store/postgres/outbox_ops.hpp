// The PostgreSQL store's outbox: the sequencer that gives committed pending events their
// final ids, the readers' view, events not tied to one sandbox, pruning, the pool's
// low-watermark state, and the session settings the outbox trigger reads.
#pragma once

#include <cstdint>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string_view>
#include <vector>

#include "store/event_store.hpp"
#include "store/outbox.hpp"

namespace broker::pg {

// Sets the session's `broker.events` and `broker.outbox_fail` to what `outbox` says, when
// they differ from what the connection last set (no round trip when nothing changed).
void apply_outbox_session(pqxx::connection& conn, const OutboxControl& outbox);

// Moves committed pending events into outbox_events with the next final ids, oldest first,
// at most `limit`, one sequencer at a time. Returns how many it moved.
std::int64_t sequence_events(pqxx::connection& conn, int limit);

std::vector<OutboxEvent> read_events(pqxx::connection& conn, std::int64_t after_id, int limit);
std::int64_t last_event_id(pqxx::connection& conn);
void append_event(pqxx::connection& conn, const OutboxControl& outbox, std::string_view type,
                  std::string_view data_json, UnixSeconds now);
// append_event inside the caller's transaction `tx`: the event commits with its change.
void append_event_in(pqxx::transaction_base& tx, const OutboxControl& outbox, std::string_view type,
                     std::string_view data_json, UnixSeconds now);
std::int64_t prune_events(pqxx::connection& conn, std::int64_t delivered_up_to, UnixSeconds older_than);
bool pool_low(pqxx::connection& conn);
bool set_pool_low(pqxx::connection& conn, const OutboxControl& outbox, bool low, std::string_view data_json,
                  UnixSeconds now);

}  // namespace broker::pg
