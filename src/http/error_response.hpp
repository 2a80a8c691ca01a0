// THE mapping from ErrorCode to HTTP status, and the error envelope of ARCHITECTURE §3:
// {"error": {code, message, request_id, retry_after?}, "detail": {code, message}}. The
// `detail` mirror serves lab scripts written against the original service.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "http/asio.hpp"

namespace broker {

bhttp::status http_status(ErrorCode code);

// The JSON envelope; `retry_after` is included only when set.
std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                       std::optional<std::chrono::seconds> retry_after = std::nullopt);

// A complete error response: status, JSON envelope, and a Retry-After header when set.
Response error_response(ErrorCode code, std::string_view message, std::string_view request_id,
                        std::optional<std::chrono::seconds> retry_after = std::nullopt);

// A JSON response with the given status and already serialized body.
Response json_response(bhttp::status status, std::string body);

}  // namespace broker
