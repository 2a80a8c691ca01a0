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
