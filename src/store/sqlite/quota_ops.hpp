// The SQLite store's reservations and track limits: their rows, and the checks allocation
// makes inside the writer's transaction (so racing allocations are decided one after the
// other, each on what the previous left).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

namespace broker::sqlite {

// Which reservations and limits exist, kept by the writer so that an allocation no rule
// applies to reads nothing more than before. Reset by every change to them; read again
// inside the next allocation's transaction. Only the writer thread touches it.
struct QuotaCache {
    struct Snapshot {
        std::vector<Reservation> reservations;  // windows only: `used` is read when it matters
        std::set<std::string> limited_tracks;
    };
    std::optional<Snapshot> snapshot;

    // Whether a reservation's window is open or the request's track is limited.
    bool applies(Connection& conn, const AllocateRequest& request);
};

// What the rules leave a request that holds nothing deciding: a refusal, or the name
// prefixes it must not take from, and its track's reservations to charge.
struct QuotaPlan {
    std::optional<AllocateOutcome> refusal;
    bool blocked_all = false;  // every available sandbox is held back for other tracks
    std::vector<std::string> blocked_prefixes;
    std::vector<Reservation> own;
};

QuotaPlan plan_quota(Connection& conn, const AllocateRequest& request);

// Charges the allocation of a sandbox named `name` to one of `own`, if one applies.
void charge_reservation(Connection& conn, const std::vector<Reservation>& own, const std::string& name,
                        UnixSeconds now);

std::int64_t count_available(Connection& conn, const std::string& name_prefix);

void create_reservation(Connection& conn, const Reservation& reservation);
std::vector<Reservation> list_reservations(Connection& conn);
std::optional<Reservation> get_reservation(Connection& conn, const std::string& id);
bool cancel_reservation(Connection& conn, const std::string& id);
void set_track_limit(Connection& conn, const std::string& track, std::int64_t max_active);
bool remove_track_limit(Connection& conn, const std::string& track);
std::vector<TrackLimit> list_track_limits(Connection& conn, UnixSeconds now);

}  // namespace broker::sqlite
