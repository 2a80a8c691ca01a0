// Error vocabulary shared by every layer. Outcomes callers branch on are values (see the
// result types in store/ and service/); these codes name them on the wire, and the
// exceptions below are the only failures that travel by throw.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace broker {

// Every error the API can answer with. The HTTP status for each is chosen in one place
// (http/error_response.cpp); the wire name is `code_name()`.
enum class ErrorCode {
    missing_sandbox_id,        // no X-Instruqt-Sandbox-ID / X-Track-ID header
    invalid_request,           // malformed input (bad query parameter, bad header value)
    unauthorized,              // missing or wrong bearer token
    forbidden,                 // valid token without the right (participant token on admin route)
    not_sandbox_owner,         // the sandbox is held by someone else
    allocation_expired,        // the caller's allocation ran past lab duration + grace
    sandbox_not_found,         // no such sandbox
    route_not_found,           // no such path
    method_not_allowed,        // path exists, method does not
    no_sandboxes_available,    // the pool (or the prefix's part of it) has nothing available now
    no_sandboxes_for_prefix,   // no sandbox in the pool has a name with that prefix (a typo?)
    participant_limit,         // the participant holds MAX_SANDBOXES_PER_PARTICIPANT sandboxes already
    payload_too_large,
    headers_too_large,
    rate_limit_exceeded,
    service_unavailable,       // overloaded or the store is down; retry later
    job_not_found,             // admin API: no background job of that name
    job_paused,                // admin API: a paused job does not run, not even on request
    job_unavailable,           // admin API: no process sharing the store can run that job
    not_allocated,             // lease extension: the sandbox is not held (returned, expired, in the pool)
    extension_limit,           // lease extension: the lease already ends at allocation + LAB_MAX_DURATION_SEC
    track_limit_reached,       // the participant's track holds as many sandboxes as its limit allows
    reservation_not_found,     // admin API: no reservation with that id
    track_limit_not_found,     // admin API: the track has no limit
    internal,                  // a bug; logged with the request id
};

std::string_view code_name(ErrorCode code);

// The store cannot be reached or failed; the request may be retried later (HTTP 503).
class StoreUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A bounded queue is full; the caller should retry after `retry_after` (HTTP 503).
class Overloaded : public std::runtime_error {
public:
    explicit Overloaded(const std::string& what, std::chrono::seconds retry_after = std::chrono::seconds(1))
        : std::runtime_error(what), retry_after_(retry_after) {}
    std::chrono::seconds retry_after() const { return retry_after_; }

private:
    std::chrono::seconds retry_after_;
};

// Configuration that cannot be used; the message names the setting.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace broker
