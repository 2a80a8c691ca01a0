#include "core/lifecycle.hpp"

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

}  // namespace broker
