// The lifecycle rules of a sandbox (ARCHITECTURE §4): which transitions exist, and when an
// allocation's lease has run out. Stores apply these rules inside their atomic changes.
#pragma once

#include <chrono>

#include "core/clock.hpp"
#include "core/sandbox.hpp"

namespace broker {

// Whether the lifecycle has an edge from `from` to `to`.
bool is_allowed_transition(SandboxStatus from, SandboxStatus to);

// How long a participant may hold a sandbox: the lab's duration, plus a grace period before
// the hold counts as expired (lab scripts see `expires_at` = allocation + lab duration).
struct LeasePolicy {
    std::chrono::seconds lab_duration{48 * 3600};
    std::chrono::seconds grace_period{30 * 60};

    UnixSeconds expires_at(UnixSeconds allocated_at) const { return allocated_at + lab_duration.count(); }
    // The instant from which an allocation made at `allocated_at` is expired.
    UnixSeconds expired_from(UnixSeconds allocated_at) const {
        return expires_at(allocated_at) + grace_period.count();
    }
    // Allocations made before this instant are expired at `now`.
    UnixSeconds allocated_before_is_expired(UnixSeconds now) const {
        return now - lab_duration.count() - grace_period.count();
    }
    bool is_expired(const Sandbox& s, UnixSeconds now) const {
        return s.allocated_at && now >= expired_from(*s.allocated_at);
    }
};

}  // namespace broker
