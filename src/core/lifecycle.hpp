// The lifecycle rules of a sandbox (ARCHITECTURE §4): which transitions exist, and when an
// allocation's lease has run out. Stores apply these rules inside their atomic changes.
#pragma once

#include <chrono>
#include <span>
#include <string_view>

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

enum class MarkOutcome {
    marked,          // allocated -> pending_deletion by its owner
    already_marked,  // the owner asked before; the same answer again, nothing changed
    not_found,
    not_owner,  // held by someone else, or not held at all
    expired,    // the owner's lease ran out; the expiry job takes it back
};

// The rule of a participant's mark-for-deletion, decided on the row the store read inside
// its transaction (null when there is none): `marked` means "move it now"; the store then
// applies that as one conditional change. Every store answers by this one rule.
MarkOutcome decide_mark_for_deletion(const Sandbox* row, std::string_view participant_id, UnixSeconds now,
                                     const LeasePolicy& lease);

// What an allocation request gets. Decided on what the store read inside its allocation
// step: every sandbox the participant holds (status allocated, expired or not: the expiry
// job takes those back). Idempotency keys are the participant's own: a key means something
// only together with the participant that sent it.
enum class AllocateDecision {
    take,           // allocate an available sandbox to the participant under the key
    existing,       // answer `holding` again, change nothing
    expired,        // the holding that would answer ran past lab duration + grace: refused
    limit_reached,  // the participant holds its limit (above 1) under other keys: refused
};

struct AllocateVerdict {
    AllocateDecision decision = AllocateDecision::take;
    const Sandbox* holding = nullptr;  // for existing and expired: one of `holdings`
};

// The rule every store applies: the holding under the same key answers (unless expired);
// else a participant below `max_per_participant` holdings takes a new sandbox; at the limit,
// a limit of 1 answers the one sandbox held (the lab's "my sandbox", whatever key a retry
// sent), a larger limit refuses. An expired holding is never handed out again: the lab's
// time is over, and the sandbox is about to be reclaimed.
AllocateVerdict decide_allocation(std::span<const Sandbox> holdings, std::string_view key, UnixSeconds now,
                                  const LeasePolicy& lease, int max_per_participant);

}  // namespace broker
