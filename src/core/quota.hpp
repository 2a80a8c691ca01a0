// Reservations and track limits: the domain rules every store applies inside its allocation
// step. A reservation holds sandboxes back for one track during a window; a track limit caps
// how many sandboxes one track holds at once. Pure arithmetic, no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace broker {

struct Reservation {
    std::string id;
    std::string track;        // X-Instruqt-Track-ID of the participants it is for
    std::string name_prefix;  // only sandboxes whose name starts with it; empty = any
    std::int64_t count = 0;   // sandboxes held back during the window
    std::int64_t used = 0;    // allocations charged to it (never more than count)
    UnixSeconds starts_at = 0;
    UnixSeconds ends_at = 0;  // exclusive
    UnixSeconds created_at = 0;

    bool active_at(UnixSeconds now) const { return starts_at <= now && now < ends_at; }
    // What it still holds back at `now`: nothing outside its window.
    std::int64_t outstanding_at(UnixSeconds now) const;
    // What it will hold back when its window opens (or holds now): nothing once it ended.
    std::int64_t pending_at(UnixSeconds now) const;
};

struct TrackLimit {
    std::string track;
    std::int64_t max_active = 0;  // sandboxes the track may hold at once (allocated, unexpired)
    std::int64_t active = 0;      // what it holds now (filled in by list_track_limits)
};

inline bool name_has_prefix(std::string_view name, std::string_view prefix) {
    return name.substr(0, prefix.size()) == prefix;
}

// What a request of one track may take while other tracks' reservations hold sandboxes back.
struct QuotaGate {
    bool blocked_all = false;                   // nothing unreserved is left for this track
    std::vector<std::string> blocked_prefixes;  // no sandbox named with one of these may be taken
};

// `others`: the reservations of other tracks. `has_available(prefix, n)`: whether at least n
// sandboxes whose name starts with the prefix ("" = all) are available. For each distinct
// prefix P among the others' (and for the whole pool), taking one sandbox under P must leave
// at least what the reservations with a prefix starting with P still hold back. Exact for
// disjoint or nested prefixes.
using HasAvailable = std::function<bool(const std::string& prefix, std::int64_t n)>;
QuotaGate quota_gate(std::span<const Reservation> others, UnixSeconds now, const HasAvailable& has_available);

// The reservation an allocation of its track is charged to: among `own` (the track's
// reservations), one active with something outstanding whose prefix the sandbox's name has,
// the one ending first (then by id). Nothing: the allocation is not charged.
std::optional<std::string> reservation_to_charge(std::span<const Reservation> own, std::string_view name,
                                                 UnixSeconds now);

// What the pool lacks for each reservation not yet ended: its pending count minus what the
// available sandboxes matching its prefix cover once the others overlapping its window (with
// a prefix nested in or around its own) have taken their pending counts. In `reservations` order.
std::vector<std::int64_t> reservation_shortfalls(
    std::span<const Reservation> reservations, UnixSeconds now,
    const std::function<std::int64_t(const std::string&)>& available);

}  // namespace broker
