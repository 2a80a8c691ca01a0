// The admin command line's side of the admin API: where the broker is, the admin token, and
// one request helper that turns every answer into JSON, a refusal (the broker's error code and
// message) or "unreachable", so each command is only its path and its printing.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/env_value.hpp"
#include "runtime/http_client.hpp"

namespace broker {

// Where the command line finds the broker and what it shows it.
struct AdminConnection {
    std::string url;        // scheme, host and port, no trailing slash: http://127.0.0.1:8080
    std::string base_path;  // the API's prefix (BROKER_BASE_PATH), e.g. /v1
    std::string token;      // the admin token: never printed, never on the command line
    std::chrono::milliseconds timeout{30000};
};

// The URL used when neither --url nor BROKER_URL is given: the address `serve` listens on by
// default (BROKER_LISTEN, else 127.0.0.1:8080), a wildcard host (0.0.0.0, [::]) as loopback.
// Throws ConfigError for a BROKER_LISTEN it cannot read.
std::string default_admin_url(const EnvLookup& env);

// The connection from the flags and the environment: `url` (else BROKER_URL, else the
// default above), the token from `token_file` (one trailing line end dropped) or else
// BROKER_ADMIN_TOKEN (or BROKER_ADMIN_TOKEN_FILE), the base path from BROKER_BASE_PATH.
// Throws ConfigError for a URL that is not http(s)://, a missing or unreadable token, an empty one.
AdminConnection load_admin_connection(const EnvLookup& env, const std::optional<std::string>& url,
                                      const std::optional<std::string>& token_file,
                                      std::chrono::milliseconds timeout);

// The broker answered with an error: its HTTP status and the envelope's code and message.
class AdminRefused : public std::runtime_error {
  public:
    AdminRefused(long status, std::string code, std::string message);
    long status() const { return status_; }
    const std::string& code() const { return code_; }
    const std::string& message() const { return message_; }

  private:
    long status_;
    std::string code_;
    std::string message_;
};

// No answer at all: connection refused, a name that does not resolve, a timeout.
class AdminUnreachable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A successful answer: its status (200, 202, ...) and its JSON body, keys in the broker's order.
struct AdminAnswer {
    long status = 0;
    nlohmann::ordered_json body;
};

class AdminClient {
  public:
    explicit AdminClient(AdminConnection connection);

    // `method` on the base path plus `path` (which may carry a query). A 2xx answer with a
    // JSON body is returned; an error answer throws AdminRefused, no answer AdminUnreachable.
    AdminAnswer call(const std::string& method, const std::string& path) const;
    nlohmann::ordered_json get(const std::string& path) const { return call("GET", path).body; }

    // As call(), with `body` sent as the request's JSON body (POST, PUT).
    AdminAnswer send(const std::string& method, const std::string& path,
                     const nlohmann::ordered_json& body) const;

    // A path the broker gave back (a run's status_url), relative to the broker's root.
    AdminAnswer call_absolute(const std::string& method, const std::string& path) const;

    // The parameter names the broker's OpenAPI document (no token needed) lists for `method`
    // ("get", "post") on the base path plus `path`: what this broker supports there.
    std::set<std::string> documented_parameters(const std::string& method, const std::string& path) const;

    const AdminConnection& connection() const { return connection_; }

  private:
    AdminAnswer exchange(const std::string& method, const std::string& url, bool with_token,
                         const nlohmann::ordered_json* body = nullptr) const;

    AdminConnection connection_;
    HttpClient http_;
};

// A member of an answer; null when the answer is no object or lacks it. Never throws: a newer
// or an older broker may answer with more or fewer fields.
const nlohmann::ordered_json& json_member(const nlohmann::ordered_json& object, const std::string& name);

// `text` percent-encoded for one path segment or query value (RFC 3986 unreserved kept).
std::string url_escape(std::string_view text);

}  // namespace broker
