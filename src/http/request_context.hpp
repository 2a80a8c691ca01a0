// What one request carries through the pipeline: the parsed message, its id, the matched
// route and path parameters, and the caller's role once authenticated. Lives on the
// connection coroutine's frame for the duration of one request.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "http/asio.hpp"

namespace broker {

struct Route;
class TokenMemo;

// viewer: the read-only role (BROKER_VIEWER_TOKEN, or a dashboard session / proxy-named user
// granted it): every admin GET, nothing that changes anything.
enum class Role { none, participant, admin, viewer };

// Path parameters of the matched template, e.g. {"id", "2009521"}; views into the target.
class PathParams {
  public:
    static constexpr std::size_t kMax = 4;

    bool add(std::string_view name, std::string_view value) {
        if (size_ == kMax) return false;
        items_[size_++] = {name, value};
        return true;
    }
    // The value of `name`; empty when the template has no such parameter.
    std::string_view get(std::string_view name) const {
        for (std::size_t i = 0; i < size_; ++i) {
            if (items_[i].first == name) return items_[i].second;
        }
        return {};
    }
    std::size_t size() const { return size_; }
    void clear() { size_ = 0; }

  private:
    std::array<std::pair<std::string_view, std::string_view>, kMax> items_{};
    std::size_t size_ = 0;
};

// Watches a connection while its handler waits (nothing is being read then) and tells when the
// client goes away. The server supplies it; null where no connection can be watched.
class PeerWatch {
  public:
    virtual ~PeerWatch() = default;
    // Starts watching; `on_gone` runs on the connection's executor if the client closes or
    // resets the connection before stop().
    virtual void start(std::function<void()> on_gone) = 0;
    // Stops watching and resumes once the watch has ended. Whatever the client sent meanwhile
    // (a pipelined request) is kept for the next read.
    virtual asio::awaitable<void> stop() = 0;
};

struct RequestContext {
    explicit RequestContext(const Request& r) : request(r) {}

    const Request& request;
    std::string request_id;        // echoed from X-Request-ID when sane, else generated
    std::string_view path;         // target without the query string
    std::string_view query;        // after '?', without it
    const Route* route = nullptr;  // the matched route; null for 404 / 405 / rejected requests
    PathParams params;
    Role role = Role::none;    // set by authentication for protected routes
    // Set with Role::none when credentials were valid but the request is refused anyway (a
    // signed-in browser's change without its CSRF token): answered 403 with this message.
    std::string_view auth_refusal;
    asio::ip::address remote;  // peer address of the connection
    PeerWatch* peer = nullptr;  // the connection, for handlers that wait; may be null
    TokenMemo* token_memo = nullptr;  // the connection's last accepted bearer token (http/auth); may be null
    std::chrono::steady_clock::time_point started{};

    // What a handler tells the access log (views of string literals): the operation, its
    // outcome in the original's words, and the log message when it says more than the status
    // ("No sandboxes available": CloudWatch filters match it).
    std::string_view action;
    std::string_view outcome;
    std::string_view log_message;
    std::string sandbox_id;  // the sandbox concerned, once known

    // Set by the rate limiter for the X-RateLimit-* headers; negative: not limited.
    int rate_limit = -1;
    int rate_limit_remaining = 0;
};

}  // namespace broker
