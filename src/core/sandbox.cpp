#include "core/sandbox.hpp"

namespace broker {

std::string_view to_string(SandboxStatus status) {
    switch (status) {
        case SandboxStatus::available: return "available";
        case SandboxStatus::allocated: return "allocated";
        case SandboxStatus::pending_deletion: return "pending_deletion";
        case SandboxStatus::stale: return "stale";
        case SandboxStatus::deletion_failed: return "deletion_failed";
        case SandboxStatus::deleted: return "deleted";
    }
    return "unknown";
}

std::optional<SandboxStatus> parse_status(std::string_view text) {
    for (auto status : kAllStatuses) {
        if (to_string(status) == text) return status;
    }
    return std::nullopt;
}

std::int64_t StatusCounts::total() const {
    std::int64_t sum = 0;
    for (auto status : kAllStatuses) {
        if (status != SandboxStatus::deleted) sum += (*this)[status];
    }
    return sum;
}

}  // namespace broker
