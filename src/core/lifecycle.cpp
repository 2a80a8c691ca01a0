#include "core/lifecycle.hpp"

#include <algorithm>
#include <cstdint>
#include <tuple>

namespace broker {

bool is_allowed_transition(SandboxStatus from, SandboxStatus to) {
    using S = SandboxStatus;
    switch (from) {
        case S::available:
            return to == S::allocated || to == S::stale;
        case S::allocated:
            return to == S::pending_deletion;
        case S::pending_deletion:
            return to == S::deleted || to == S::deletion_failed;
        case S::stale:
            return to == S::available;  // seen again; removal deletes the row
        case S::deletion_failed:
            return to == S::deleted || to == S::pending_deletion;
        case S::deleted:
            return false;
    }
    return false;
}

MarkOutcome decide_mark_for_deletion(const Sandbox* row, std::string_view participant_id, UnixSeconds now,
                                     const LeasePolicy& lease) {
    using S = SandboxStatus;
    if (!row) return MarkOutcome::not_found;
    // An empty participant id would match every unheld row's empty owner.
    if (participant_id.empty() || row->allocated_to_track != participant_id) return MarkOutcome::not_owner;
    switch (row->status) {
        case S::allocated:
            return lease.is_expired(*row, now) ? MarkOutcome::expired : MarkOutcome::marked;
        case S::pending_deletion:
        case S::deletion_failed:
        case S::deleted:
            return MarkOutcome::already_marked;
        case S::available:
        case S::stale:
            break;
    }
    return MarkOutcome::not_owner;
}

ExtendDecision decide_extension(const Sandbox* row, std::string_view participant_id, std::int64_t seconds,
                                UnixSeconds now, const LeasePolicy& lease) {
    if (!row) return {ExtendOutcome::not_found};
    const bool own = !participant_id.empty() && row->allocated_to_track == participant_id;
    // A row another participant holds or returned is theirs; a pool row is nobody's lease.
    if (!own) {
        return {row->allocated_to_track.empty() ? ExtendOutcome::not_allocated : ExtendOutcome::not_owner};
    }
    if (row->status != SandboxStatus::allocated || !row->allocated_at || lease.is_expired(*row, now)) {
        return {ExtendOutcome::not_allocated};
    }
    ExtendDecision d;
    d.old_expires_at = row->expires_at ? *row->expires_at : lease.expires_at(*row->allocated_at);
    // A lease whose time has run out (grace or not) is no longer extended: its place in the
    // track's limit went back to the track when it ran out, and may be taken already.
    if (now >= d.old_expires_at) return {ExtendOutcome::not_allocated};
    d.max_expires_at = lease.max_expires_at(*row->allocated_at);
    if (d.old_expires_at >= d.max_expires_at) {
        d.outcome = ExtendOutcome::limit_reached;
        return d;
    }
    if (seconds > d.max_expires_at - d.old_expires_at) {
        d.outcome = ExtendOutcome::capped;
        d.new_expires_at = d.max_expires_at;
    } else {
        d.outcome = ExtendOutcome::extended;
        d.new_expires_at = d.old_expires_at + seconds;
    }
    return d;
}

AllocateVerdict decide_allocation(std::span<const Sandbox> holdings, std::string_view key, UnixSeconds now,
                                  const LeasePolicy& lease, int max_per_participant) {
    auto answer = [&](const Sandbox& held) {
        return AllocateVerdict{
            lease.is_expired(held, now) ? AllocateDecision::expired : AllocateDecision::existing, &held};
    };
    for (const Sandbox& held : holdings) {
        if (held.idempotency_key == key) return answer(held);
    }
    if (static_cast<std::int64_t>(holdings.size()) < std::max(1, max_per_participant)) return {};
    if (max_per_participant > 1) return {AllocateDecision::limit_reached, nullptr};
    // Several holdings under a limit of 1 exist only from before the limit: the oldest answers.
    const Sandbox* oldest = &holdings.front();
    for (const Sandbox& held : holdings) {
        if (std::tie(held.allocated_at, held.sandbox_id) < std::tie(oldest->allocated_at, oldest->sandbox_id))
            oldest = &held;
    }
    return answer(*oldest);
}

}  // namespace broker
