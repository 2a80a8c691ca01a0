// Wire and log names of the provider outcomes.
#include "provider/provider.hpp"

namespace broker {

std::string_view to_string(ProviderFailureKind kind) {
    switch (kind) {
        case ProviderFailureKind::unavailable:
            return "unavailable";
        case ProviderFailureKind::circuit_open:
            return "circuit_open";
        case ProviderFailureKind::rate_limited:
            return "rate_limited";
        case ProviderFailureKind::bad_response:
            return "bad_response";
    }
    return "unknown";
}

std::string_view to_string(DeleteStatus status) {
    switch (status) {
        case DeleteStatus::deleted:
            return "deleted";
        case DeleteStatus::already_gone:
            return "already_gone";
        case DeleteStatus::failed:
            return "failed";
    }
    return "unknown";
}

std::string_view to_string(CleanupOutcome outcome) {
    switch (outcome) {
        case CleanupOutcome::skipped:
            return "skipped";
        case CleanupOutcome::shadow:
            return "shadow";
        case CleanupOutcome::cleaned:
            return "cleaned";
        case CleanupOutcome::failed:
            return "failed";
    }
    return "unknown";
}

}  // namespace broker
