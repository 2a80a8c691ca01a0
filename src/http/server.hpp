// The HTTP/1.1 server: one acceptor, one C++20 coroutine per connection, a few I/O threads
// each running an io_context of its own (connections spread over them in turn, so a
// connection's coroutine only ever runs on its thread and needs no strand). Keep-alive, a
// timeout on every read (idle between requests, read while a request arrives), header and
// body limits, request framing as RFC 9112 requires (http/request_framing), a cap on open
// connections, and a graceful stop that lets requests in flight finish within a bound.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/config.hpp"
#include "http/asio.hpp"
#include "http/pipeline.hpp"

namespace broker {

struct ServerOptions {
    int threads = 2;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(30);
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(75);
    std::chrono::steady_clock::duration shutdown_grace = std::chrono::seconds(10);
    // Connections served at once; one more is answered 503 with Retry-After and closed.
    std::size_t max_connections = 4096;

    static ServerOptions from(const Config& config);
};

class HttpServer {
  public:
    HttpServer(ServerOptions options, const Pipeline& pipeline);
    ~HttpServer();  // stop()

    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds, listens and starts the I/O threads. Port 0 binds an ephemeral port; the
    // endpoint actually bound is returned. Throws boost::system::system_error on failure.
    asio::ip::tcp::endpoint start(const asio::ip::tcp::endpoint& where);

    // Stops accepting, closes idle connections, lets requests in flight finish for up to
    // options.shutdown_grace, then stops the I/O threads. Call from a non-I/O thread. Idempotent.
    void stop();

    // Open connections right now (for tests and diagnostics).
    std::size_t connection_count() const;

    // Connections refused so far because max_connections were open.
    std::uint64_t turned_away_count() const { return turned_away_.load(); }

  private:
    struct Connection;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
    asio::awaitable<void> refuse(Connection& connection, ErrorCode code, std::string_view message,
                                 std::optional<std::chrono::seconds> retry_after = std::nullopt);
    asio::awaitable<void> turn_away(std::shared_ptr<Connection> connection);
    asio::awaitable<void> back_off_after_accept_error(const boost::system::error_code& ec);
    void forget(const std::shared_ptr<Connection>& connection);

    const ServerOptions options_;
    const Pipeline& pipeline_;
    // One per I/O thread; the first also runs the acceptor.
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    asio::ip::tcp::acceptor acceptor_;
    std::size_t next_context_ = 0;  // the context of the next connection; acceptor's thread only
    std::vector<std::thread> threads_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> turned_away_{0};
    std::atomic<std::size_t> turning_away_{0};  // 503s being written right now
    // Accept errors (descriptors exhausted): the current pause, failures not yet logged and
    // when the last line was written. Only touched on the acceptor's thread.
    std::chrono::milliseconds accept_backoff_{0};
    std::uint64_t accept_errors_unlogged_ = 0;
    std::chrono::steady_clock::time_point accept_error_logged_{};
    std::uint64_t turned_away_unlogged_ = 0;
    std::chrono::steady_clock::time_point turned_away_logged_{};
    bool stopped_ = false;  // guarded by stop_mutex_

    mutable std::mutex connections_mutex_;
    std::condition_variable connections_drained_;
    std::unordered_set<std::shared_ptr<Connection>> connections_;
    std::mutex stop_mutex_;
};

// How many connections the process's descriptors allow. The soft RLIMIT_NOFILE is raised
// towards the hard one so that `max_connections` sockets and `reserve` other descriptors
// (store, logs, provider calls) fit; when they still do not, the cap is lowered to what fits
// and `warning` says so, naming MAX_CONNECTIONS and the limit.
struct DescriptorFit {
    std::size_t max_connections = 0;
    std::optional<std::string> warning;
};
DescriptorFit fit_descriptor_limit(std::size_t max_connections, std::size_t reserve);

// Parses "HOST:PORT" ("[::1]:8080" for IPv6; HOST must be a numeric address). Throws
// ConfigError naming the value.
asio::ip::tcp::endpoint parse_listen_address(const std::string& text);

// "http://HOST:PORT" for an endpoint ("http://[::1]:8080" for IPv6): what a process prints
// of the address it bound.
std::string endpoint_url(const asio::ip::tcp::endpoint& endpoint);

}  // namespace broker
