// The lifecycle rules of a sandbox (ARCHITECTURE §4): which transitions exist, and when an
// allocation's lease has run out. Stores apply these rules inside their atomic changes.
#pragma once

#include <chrono>
#include <cstdint>
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
    // How far past its allocation an extension may move a lease's end (LAB_MAX_DURATION_SEC);
    // zero: twice the lab duration.
    std::chrono::seconds max_duration{0};

    UnixSeconds expires_at(UnixSeconds allocated_at) const { return allocated_at + lab_duration.count(); }
    // The latest `expires_at` an allocation made at `allocated_at` may be extended to.
    UnixSeconds max_expires_at(UnixSeconds allocated_at) const {
        return allocated_at + (max_duration.count() > 0 ? max_duration.count() : 2 * lab_duration.count());
    }
    // The instant from which an allocation made at `allocated_at` is expired.
    UnixSeconds expired_from(UnixSeconds allocated_at) const {
        return expires_at(allocated_at) + grace_period.count();
    }
    // Allocations made before this instant are expired at `now`.
    UnixSeconds allocated_before_is_expired(UnixSeconds now) const {
        return now - lab_duration.count() - grace_period.count();
    }
    // Allocations whose `expires_at` is at or before this instant are expired at `now`.
    UnixSeconds expires_before_is_expired(UnixSeconds now) const { return now - grace_period.count(); }
    // The row's own `expires_at` decides (an extension moves it); a row without one (none is
    // written so) falls back to the lab duration.
    bool is_expired(const Sandbox& s, UnixSeconds now) const {
        if (!s.allocated_at) return false;
        const UnixSeconds lab_end = s.expires_at ? *s.expires_at : expires_at(*s.allocated_at);
        return now >= lab_end + grace_period.count();
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

enum class ExtendOutcome {
    extended,       // expires_at moved by the seconds asked for
    capped,         // moved, but only up to the cap (allocated_at + max duration)
    limit_reached,  // already at the cap: nothing changed
    not_found,
    not_owner,      // held (or returned) by another participant
    not_allocated,  // not held: available, returned, being deleted, or its lease ran out
};

struct ExtendDecision {
    ExtendOutcome outcome = ExtendOutcome::not_found;
    UnixSeconds old_expires_at = 0;  // for extended, capped and limit_reached
    UnixSeconds new_expires_at = 0;  // for extended and capped
    UnixSeconds max_expires_at = 0;  // the cap, for extended, capped and limit_reached
};

// The rule of a lease extension by `seconds` (> 0), decided on the row the store read inside
// its change (null when there is none); the store applies extended / capped as one change
// conditional on the row's status, owner and expires_at. A hold whose lab time ran out is
// still extendable during its grace period (the expiry job has not taken it back); past lab
// end + grace it is not held any more.
ExtendDecision decide_extension(const Sandbox* row, std::string_view participant_id, std::int64_t seconds,
                                UnixSeconds now, const LeasePolicy& lease);

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
