// The one ErrorCode -> HTTP status mapping and the error envelope with its `detail` mirror.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/error_response.hpp"

namespace broker {
namespace {

TEST(ErrorResponse, StatusForEveryCode) {
    using S = bhttp::status;
    const std::vector<std::pair<ErrorCode, S>> expected = {
        {ErrorCode::missing_sandbox_id, S::bad_request},
        {ErrorCode::invalid_request, S::bad_request},
        {ErrorCode::unauthorized, S::unauthorized},
        {ErrorCode::forbidden, S::forbidden},
        {ErrorCode::not_sandbox_owner, S::forbidden},
        {ErrorCode::allocation_expired, S::forbidden},
        {ErrorCode::sandbox_not_found, S::not_found},
        {ErrorCode::route_not_found, S::not_found},
        {ErrorCode::method_not_allowed, S::method_not_allowed},
        {ErrorCode::no_sandboxes_available, S::conflict},
        {ErrorCode::no_sandboxes_for_prefix, S::conflict},
        {ErrorCode::participant_limit, S::conflict},
        {ErrorCode::payload_too_large, S::payload_too_large},
        {ErrorCode::headers_too_large, S::request_header_fields_too_large},
        {ErrorCode::rate_limit_exceeded, S::too_many_requests},
        {ErrorCode::service_unavailable, S::service_unavailable},
        {ErrorCode::job_not_found, S::not_found},
        {ErrorCode::job_paused, S::conflict},
        {ErrorCode::not_allocated, S::conflict},
        {ErrorCode::extension_limit, S::conflict},
        {ErrorCode::track_limit_reached, S::conflict},
        {ErrorCode::reservation_not_found, S::not_found},
        {ErrorCode::track_limit_not_found, S::not_found},
        {ErrorCode::internal, S::internal_server_error},
    };
    for (const auto& [code, status] : expected) EXPECT_EQ(http_status(code), status) << code_name(code);
}

TEST(ErrorResponse, EnvelopeWithDetailMirror) {
    const Response res = error_response(ErrorCode::not_sandbox_owner, "not yours", "req-1");
    EXPECT_EQ(res.result(), bhttp::status::forbidden);
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    EXPECT_EQ(res.count(bhttp::field::retry_after), 0u);
    const auto body = nlohmann::json::parse(res.body());
    const auto expected = nlohmann::json::parse(R"({
        "error": {"code": "NOT_SANDBOX_OWNER", "message": "not yours", "request_id": "req-1"},
        "detail": {"code": "NOT_SANDBOX_OWNER", "message": "not yours"}})");
    EXPECT_EQ(body, expected);
}

TEST(ErrorResponse, RetryAfterInBodyAndHeaderWhenSet) {
    const Response res =
        error_response(ErrorCode::no_sandboxes_available, "empty", "req-2", std::chrono::seconds(30));
    EXPECT_EQ(res.result(), bhttp::status::conflict);
    EXPECT_EQ(res[bhttp::field::retry_after], "30");
    const auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["error"]["retry_after"], 30);
    EXPECT_EQ(body["error"]["code"], "NO_SANDBOXES_AVAILABLE");
    EXPECT_FALSE(body["detail"].contains("retry_after"));
}

TEST(ErrorResponse, HostileTextStillMakesValidJson) {
    const std::string message = std::string("bad \"quote\" \\ and invalid utf-8: \xff\xfe") + '\x01';
    const std::string body = error_body(ErrorCode::invalid_request, message, "id");
    const auto parsed = nlohmann::json::parse(body);
    EXPECT_EQ(parsed["error"]["code"], "INVALID_REQUEST");
    EXPECT_EQ(parsed["detail"]["code"], "INVALID_REQUEST");
}

}  // namespace
}  // namespace broker
