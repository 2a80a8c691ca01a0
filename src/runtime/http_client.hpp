// A small blocking HTTP client over libcurl (the provider clients, DynamoDB credentials, the
// webhook sender). Failures to get an answer at all (refused, timed out) are values, as are
// answers with any status; callers decide what a 500 means. Safe to use from several threads
// at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/curl_handle_pool.hpp"

struct sockaddr;

namespace broker {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    HttpHeaders headers;
    std::string body;
};

struct HttpResponse {
    long status = 0;
    HttpHeaders headers;  // of the final answer, names as the server sent them
    std::string body;

    // The first header named `name` (case-insensitive), if any.
    std::optional<std::string> header(std::string_view name) const;
};

enum class TransportErrorKind {
    connect,  // refused, unreachable, name not resolved, or the connect timeout passed
    timeout,  // connected but the whole exchange took longer than the total timeout
    other,    // TLS, protocol, oversized body, ...
};

struct TransportError {
    TransportErrorKind kind = TransportErrorKind::other;
    std::string message;
};

struct HttpResult {
    std::optional<HttpResponse> response;  // set when the server answered
    std::optional<TransportError> error;   // set otherwise
    std::chrono::milliseconds elapsed{0};

    bool ok() const { return response.has_value(); }
};

struct HttpClientOptions {
    std::chrono::milliseconds connect_timeout{5000};
    // The whole exchange, connect included. libcurl's own "read timeout" only has whole
    // seconds of resolution, so the total is the bound that tests and callers rely on.
    std::chrono::milliseconds total_timeout{35000};
    std::size_t max_body_bytes = 16 * 1024 * 1024;  // a runaway answer is cut off, not buffered
    std::string user_agent = "sandbox-broker";
    // When set, every address a connection is about to be opened to (after name resolution,
    // so a name that changes its address is checked each time) must pass it, or the request
    // fails as a connect error.
    std::function<bool(const ::sockaddr*)> allow_address = {};
    // Keeps connections open between requests (HTTP keep-alive): each request borrows an easy
    // handle, with the connections it holds, from the client's pool and gives it back. A
    // reused connection was checked by `allow_address` when it was opened. Off: a new
    // connection per request.
    bool reuse_connections = false;
};

// Initialises libcurl's global state once per process; every HttpClient calls it, and
// main may call it early, before any thread starts.
void http_global_init();

// An exchange whose answer body is read as it arrives, a piece at a time, by the thread that
// opened it (HttpClient::open): for answers too large to hold (the provider's account list).
// No bound on the body's total size and no total timeout: the reader decides how much it takes,
// and the exchange fails when the server sends nothing for `idle_timeout` while it is waited
// for. Not thread-safe; one reader.
class HttpBodyStream {
  public:
    ~HttpBodyStream();
    HttpBodyStream(const HttpBodyStream&) = delete;
    HttpBodyStream& operator=(const HttpBodyStream&) = delete;

    // The status and headers (the response's body empty), or why there is no answer.
    const HttpResult& head() const;
    // Up to `size` more bytes of the body; 0 at its end or when the exchange failed (error()).
    std::size_t read(char* out, std::size_t size);
    // Set when the exchange failed after the head: cut off, idle too long, a transport error.
    const std::optional<TransportError>& error() const;
    // Reads the rest of the body, at most `limit` bytes of it (an error page, for its excerpt).
    std::string read_rest(std::size_t limit);

    struct State;

  private:
    friend class HttpClient;
    explicit HttpBodyStream(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

class HttpClient {
  public:
    explicit HttpClient(HttpClientOptions options = {});

    // Performs one request; never throws for network trouble.
    HttpResult perform(const HttpRequest& request) const;

    // Starts one request and returns once the answer's head is in (or the exchange failed):
    // the body is then read from the stream. The options' connect timeout applies; their total
    // timeout bounds the wait for the head, and `idle_timeout` each wait for more of the body.
    std::unique_ptr<HttpBodyStream> open(const HttpRequest& request,
                                         std::chrono::milliseconds idle_timeout) const;

    const HttpClientOptions& options() const { return options_; }

  private:
    HttpClientOptions options_;
    std::shared_ptr<CurlHandlePool> handles_;  // set with reuse_connections
};

// "METHOD url [Header: value, ...]" with credentials (Authorization, Cookie, tokens) replaced
// by "<redacted>": the only form in which a request may reach a log line or an error.
std::string describe_for_log(const HttpRequest& request);

// Whether a header carries a credential and must never be logged.
bool is_sensitive_header(std::string_view name);

// The last segment of a resource path (`identity/accounts/<uuid>` → `<uuid>`), for building
// a URL from an id the provider gave us; empty unless it is letters, digits, '-' and '_', so
// an id can never steer a request to another path.
std::string safe_last_segment(std::string_view path);

}  // namespace broker
