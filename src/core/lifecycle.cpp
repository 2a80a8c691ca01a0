#include "core/lifecycle.hpp"

namespace broker {

bool is_allowed_transition(SandboxStatus from, SandboxStatus to) {
    using S = SandboxStatus;
    switch (from) {
        case S::available: return to == S::allocated || to == S::stale;
        case S::allocated: return to == S::pending_deletion;
        case S::pending_deletion: return to == S::deleted || to == S::deletion_failed;
        case S::stale: return to == S::available;  // seen again; removal deletes the row
        case S::deletion_failed: return to == S::deleted || to == S::pending_deletion;
        case S::deleted: return false;
    }
    return false;
}

}  // namespace broker
