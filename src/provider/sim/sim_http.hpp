// The small HTTP vocabulary the simulator's handlers share: JSON and error answers in the
// provider's style, credential checks, and the fault step every provider route runs first.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/asio.hpp"
#include "http/request_context.hpp"
#include "provider/sim/fault_injector.hpp"

namespace broker::sim {

Response json_reply(bhttp::status status, const nlohmann::json& body);

// `{"error": [{"message": "..."}]}`, as the provider words its refusals.
Response error_reply(bhttp::status status, std::string_view message);

// A 204 without a body.
Response no_content();

// The request body as a JSON object, or nothing when it is not one.
std::optional<nlohmann::json> json_object_body(const Request& request);

// Whether `Authorization: <scheme> <credential>` carries exactly `expected`, compared in
// constant time. The scheme is case-insensitive.
bool has_credential(const Request& request, std::string_view scheme, std::string_view expected);

// The credential of `Authorization: <scheme> <credential>`; empty when absent.
std::string_view credential(const Request& request, std::string_view scheme);

// Waits the configured latency on a timer (never blocking the I/O thread), then draws the
// request's fate: the spoiled answer to send, or nothing to go on normally.
asio::awaitable<std::optional<Response>> apply_faults(FaultInjector& faults);

}  // namespace broker::sim
