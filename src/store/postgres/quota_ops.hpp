// The PostgreSQL store's reservations and track limits: their rows, and the allocation under
// them. An allocation a rule may apply to runs in a transaction under advisory locks: its
// track's lock when the track is limited (racing allocations of the track count one after the
// other), and one lock for every allocation while a reservation holds sandboxes back (the
// last unreserved sandbox cannot go to two replicas). Allocations no rule applies to never
// take them (pg_sql.cpp's plain statements step aside when a rule may apply).
#pragma once

#include <optional>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace broker::pg {

// Whether a limit on the request's track or an open reservation may apply to it.
bool quota_applies(pqxx::transaction_base& tx, const AllocateRequest& request);

// The allocation under the rules, the participant's holdings decided first as always.
AllocateResult allocate_under_quota(pqxx::connection& conn, const AllocateRequest& request);

std::int64_t count_available(pqxx::connection& conn, const std::string& name_prefix);
void create_reservation(pqxx::connection& conn, const Reservation& reservation);
std::vector<Reservation> list_reservations(pqxx::connection& conn);
std::optional<Reservation> get_reservation(pqxx::connection& conn, const std::string& id);
bool cancel_reservation(pqxx::connection& conn, const std::string& id);
void set_track_limit(pqxx::connection& conn, const std::string& track, std::int64_t max_active);
bool remove_track_limit(pqxx::connection& conn, const std::string& track);
std::vector<TrackLimit> list_track_limits(pqxx::connection& conn, UnixSeconds now);

}  // namespace broker::pg
