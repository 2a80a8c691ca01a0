#include "core/errors.hpp"

namespace broker {

std::string_view code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::missing_sandbox_id: return "MISSING_SANDBOX_ID";
        case ErrorCode::invalid_request: return "INVALID_REQUEST";
        case ErrorCode::unauthorized: return "UNAUTHORIZED";
        case ErrorCode::forbidden: return "FORBIDDEN";
        case ErrorCode::not_sandbox_owner: return "NOT_SANDBOX_OWNER";
        case ErrorCode::allocation_expired: return "ALLOCATION_EXPIRED";
        case ErrorCode::sandbox_not_found: return "SANDBOX_NOT_FOUND";
        case ErrorCode::route_not_found: return "NOT_FOUND";
        case ErrorCode::method_not_allowed: return "METHOD_NOT_ALLOWED";
        case ErrorCode::no_sandboxes_available: return "NO_SANDBOXES_AVAILABLE";
        case ErrorCode::no_sandboxes_for_prefix: return "NO_SANDBOXES_FOR_PREFIX";
        case ErrorCode::participant_limit: return "PARTICIPANT_LIMIT_REACHED";
        case ErrorCode::payload_too_large: return "PAYLOAD_TOO_LARGE";
        case ErrorCode::headers_too_large: return "HEADERS_TOO_LARGE";
        case ErrorCode::rate_limit_exceeded: return "RATE_LIMIT_EXCEEDED";
        case ErrorCode::service_unavailable: return "SERVICE_UNAVAILABLE";
        case ErrorCode::job_not_found: return "JOB_NOT_FOUND";
        case ErrorCode::job_paused: return "JOB_PAUSED";
        case ErrorCode::job_unavailable: return "JOB_UNAVAILABLE";
        case ErrorCode::not_allocated: return "NOT_ALLOCATED";
        case ErrorCode::extension_limit: return "EXTENSION_LIMIT";
        case ErrorCode::track_limit_reached: return "TRACK_LIMIT_REACHED";
        case ErrorCode::reservation_not_found: return "RESERVATION_NOT_FOUND";
        case ErrorCode::track_limit_not_found: return "TRACK_LIMIT_NOT_FOUND";
        case ErrorCode::internal: return "INTERNAL_ERROR";
    }
    return "INTERNAL_ERROR";
}

}  // namespace broker
