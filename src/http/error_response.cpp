#include "http/error_response.hpp"

#include <nlohmann/json.hpp>

namespace broker {

bhttp::status http_status(ErrorCode code) {
    using S = bhttp::status;
    switch (code) {
        case ErrorCode::missing_sandbox_id:
        case ErrorCode::invalid_request:
            return S::bad_request;
        case ErrorCode::unauthorized:
            return S::unauthorized;
        case ErrorCode::forbidden:
        case ErrorCode::not_sandbox_owner:
        case ErrorCode::allocation_expired:
            return S::forbidden;
        case ErrorCode::sandbox_not_found:
        case ErrorCode::route_not_found:
        case ErrorCode::job_not_found:
        case ErrorCode::reservation_not_found:
        case ErrorCode::track_limit_not_found:
            return S::not_found;
        case ErrorCode::method_not_allowed:
            return S::method_not_allowed;
        case ErrorCode::no_sandboxes_available:
        case ErrorCode::no_sandboxes_for_prefix:
        case ErrorCode::participant_limit:
        case ErrorCode::job_paused:
        case ErrorCode::job_unavailable:
        case ErrorCode::not_allocated:
        case ErrorCode::extension_limit:
        case ErrorCode::track_limit_reached:
            return S::conflict;
        case ErrorCode::payload_too_large:
            return S::payload_too_large;
        case ErrorCode::headers_too_large:
            return S::request_header_fields_too_large;
        case ErrorCode::rate_limit_exceeded:
            return S::too_many_requests;
        case ErrorCode::service_unavailable:
            return S::service_unavailable;
        case ErrorCode::internal:
            return S::internal_server_error;
    }
    return S::internal_server_error;
}

std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                       std::optional<std::chrono::seconds> retry_after) {
    const std::string name(code_name(code));
    nlohmann::json error = {{"code", name}, {"message", message}, {"request_id", request_id}};
    if (retry_after) error["retry_after"] = retry_after->count();
    const nlohmann::json body = {{"error", std::move(error)},
                                 {"detail", {{"code", name}, {"message", message}}}};
    // Replace invalid UTF-8 (a hostile header echoed in a message) instead of throwing.
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response error_response(ErrorCode code, std::string_view message, std::string_view request_id,
                        std::optional<std::chrono::seconds> retry_after) {
    Response res = json_response(http_status(code), error_body(code, message, request_id, retry_after));
    if (retry_after) res.set(bhttp::field::retry_after, std::to_string(retry_after->count()));
    return res;
}

Response json_response(bhttp::status status, std::string body) {
    Response res{status, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

}  // namespace broker
