#include "http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "core/errors.hpp"
#include "http/auth.hpp"
#include "http/request_framing.hpp"
#include "http/response_head.hpp"
#include "http/streamed_body.hpp"

namespace broker {
namespace {

using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kFirstReadBytes = 4096;
constexpr std::size_t kKeptHeadBytes = 16 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;
// Beyond the connection cap: 503s written at once at most; more connections close at once
// (a flood must not turn the polite refusal into another way to hold descriptors).
constexpr std::size_t kMaxTurningAway = 64;
constexpr std::chrono::seconds kTurnAwayRetryAfter{1};
// Accept errors (EMFILE, ENFILE, ENOBUFS): pauses double from the first to the last, and
// one log line at most this often says how many there were.
constexpr std::chrono::milliseconds kFirstAcceptPause{10};
constexpr std::chrono::milliseconds kLastAcceptPause{1000};
constexpr std::chrono::seconds kLogAtMostEvery{10};

// A request that never arrived whole: stands in for ctx.request when refusing it.
const Request& empty_request() {
    static const Request request;
    return request;
}

bool is_parse_error(const error_code& ec) {
    static const auto& category = make_error_code(bhttp::error::bad_method).category();
    if (ec.category() != category) return false;
    // The peer closing (cleanly or mid-message) is not a malformed request.
    return ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
           ec != bhttp::error::short_read;
}

// What a client is told about a request Beast could not parse: the framing errors by name.
std::string_view parse_error_message(const error_code& ec) {
    if (ec == bhttp::error::bad_transfer_encoding)
        return "Transfer-Encoding is malformed, repeated, or sent with Content-Length";
    if (ec == bhttp::error::bad_content_length)
        return "Content-Length is malformed, repeated with another value, or sent with Transfer-Encoding";
    if (ec == bhttp::error::bad_value)
        return "a header field value holds a byte HTTP does not allow (a control character, CR, LF or NUL)";
    if (ec == bhttp::error::bad_field) return "a header field name is malformed";
    return "malformed HTTP request";
}

void log_escaped(std::exception_ptr e, const char* what) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        spdlog::error("{} ended by an exception: {}", what, x.what());
    } catch (...) {
        spdlog::error("{} ended by a non-standard exception", what);
    }
}

// PeerWatch over one connection: an async read that ends with EOF or an error when the client
// goes away. Bytes that arrive (a pipelined request) are kept in the connection's buffer.
class ConnectionWatch final : public PeerWatch {
  public:
    ConnectionWatch(beast::tcp_stream& stream, beast::flat_buffer& buffer, std::size_t limit)
        : stream_(stream), buffer_(buffer), limit_(limit) {}

    void start(std::function<void()> on_gone) override {
        if (active_) return;
        active_ = true;
        stopping_ = false;
        finished_ = false;
        on_gone_ = std::move(on_gone);
        done_.emplace(stream_.get_executor(), asio::steady_timer::time_point::max());
        stream_.expires_never();  // the handler's own deadline bounds the wait
        read();
    }

    asio::awaitable<void> stop() override {
        if (!active_) co_return;
        stopping_ = true;
        if (!finished_) {
            error_code ec;
            stream_.socket().cancel(ec);
            co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        active_ = false;
        on_gone_ = nullptr;
    }

  private:
    void read() {
        if (buffer_.size() >= limit_) {
            finish();  // a client pipelining that much is still there; stop watching
            return;
        }
        stream_.async_read_some(buffer_.prepare(kFirstReadBytes), [this](error_code ec, std::size_t n) {
            buffer_.commit(n);
            if (ec) {
                if (!stopping_ && on_gone_) on_gone_();
                finish();
            } else if (stopping_) {
                finish();
            } else {
                read();
            }
        });
    }

    void finish() {
        finished_ = true;
        if (done_) done_->cancel();
    }

    beast::tcp_stream& stream_;
    beast::flat_buffer& buffer_;
    const std::size_t limit_;
    std::function<void()> on_gone_;
    std::optional<asio::steady_timer> done_;
    bool active_ = false;
    bool stopping_ = false;
    bool finished_ = false;
};

using RequestParser = bhttp::request_parser<bhttp::string_body>;

// Feeds `parser` from `buffer`, reading more from the stream whenever it needs more, until
// `done()`: what Beast's async_read_header and async_read do (the same parser calls, the same
// end-of-stream handling), without the composed operation around every read, which costs
// more than the parsing (bench/README.md).
template <class Done>
asio::awaitable<void> parse_until(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                  RequestParser& parser, Done done, error_code& ec) {
    ec = {};
    while (!done()) {
        if (buffer.size() > 0) {
            buffer.consume(parser.put(buffer.data(), ec));
            if (ec != bhttp::error::need_more) {
                if (ec) co_return;
                continue;
            }
            ec = {};
        }
        const std::size_t room = std::clamp<std::size_t>(buffer.capacity() - buffer.size(), 512, 65536);
        const std::size_t n = co_await stream.async_read_some(buffer.prepare(room),
                                                              asio::redirect_error(asio::use_awaitable, ec));
        buffer.commit(n);
        if (ec == asio::error::eof) {
            // A message that has begun ends at the end of the stream where its framing allows.
            if (!parser.got_some()) {
                ec = bhttp::error::end_of_stream;
                co_return;
            }
            ec = {};
            parser.put_eof(ec);
            co_return;
        }
        if (ec) co_return;
    }
}

// The I/O threads' contexts: one thread each, so the hint lets Asio skip the work of sharing
// a context between threads.
std::vector<std::unique_ptr<asio::io_context>> make_contexts(int threads) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (int i = 0; i < std::max(threads, 1); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    return contexts;
}

}  // namespace

// The time limit of what a connection is doing (waiting for a request, reading it, writing
// an answer, lingering) is a time stored per operation; one timer per connection, armed at
// most once per `period` (the shortest timeout) or when a limit comes earlier than it fires,
// closes the socket once the limit has passed. Beast's tcp_stream arms and
// cancels a timer around every read and write instead: two timer operations and one more
// handler per operation, a few requests' worth of instructions in every request.
struct HttpServer::Connection : std::enable_shared_from_this<Connection> {
    using Clock = std::chrono::steady_clock;

    Connection(tcp::socket socket, Clock::duration timer_period)
        : stream(std::move(socket)), timer(stream.get_executor()), period(timer_period) {}

    // The operations started from now on must end within `timeout`.
    void expires_after(Clock::duration timeout) {
        const auto now = Clock::now();
        limit = now + timeout;
        if (limit < armed) arm(std::min(limit, now + period));
    }
    // No limit (a handler at work, a watch with its own deadline).
    void expires_never() { limit = Clock::time_point::max(); }
    // At the end of the connection: the pending wait ends now and releases the connection.
    void stop_timer() {
        limit = armed = Clock::time_point::max();
        timer.cancel();
    }

    // An answer to a complete message (not a streamed one): its header block in `head`, then
    // the body, in one gathered write.
    asio::awaitable<void> write_answer(Response& res, Clock::duration timeout, error_code& ec) {
        res.prepare_payload();
        response_head(res, head);
        const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body())};
        expires_after(timeout);
        co_await asio::async_write(stream, buffers, asio::redirect_error(asio::use_awaitable, ec));
    }

    beast::tcp_stream stream;  // its own timer stays off (expiry never) but in write_streamed
    std::string head;          // the answer's header block, reused by every answer of the connection
    bool busy = false;         // a request is being read or answered; only touched on the connection's thread

  private:
    void arm(Clock::time_point at) {
        armed = at;
        timer.expires_at(at);  // a pending wait ends with operation_aborted
        timer.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec) self->on_timer();
        });
    }

    void on_timer() {
        const auto now = Clock::now();
        if (timer.expiry() > now) return;  // re-armed after this wait had already fired
        armed = Clock::time_point::max();
        if (limit == Clock::time_point::max()) return;  // the next limit arms it again
        if (now >= limit) {
            // As Beast's own timeout does: closed, so the operation in progress ends with an
            // error and so does any the coroutine starts before it sees that one.
            error_code ec;
            stream.socket().close(ec);
            return;
        }
        arm(std::min(limit, now + period));
    }

    asio::steady_timer timer;
    const Clock::duration period;
    Clock::time_point limit = Clock::time_point::max();
    Clock::time_point armed = Clock::time_point::max();  // when the pending wait fires
};

ServerOptions ServerOptions::from(const Config& config) {
    ServerOptions o;
    o.threads = config.http_threads;
    o.max_header_bytes = config.max_header_bytes;
    o.max_body_bytes = config.max_body_bytes;
    o.read_timeout = config.read_timeout;
    o.idle_timeout = config.idle_timeout;
    o.max_connections = config.max_connections;
    return o;
}

HttpServer::HttpServer(ServerOptions options, const Pipeline& pipeline)
    : options_(options),
      pipeline_(pipeline),
      contexts_(make_contexts(options.threads)),
      acceptor_(*contexts_.front()) {
    for (auto& context : contexts_) work_.push_back(asio::make_work_guard(*context));
}

HttpServer::~HttpServer() {
    stop();
}

tcp::endpoint HttpServer::start(const tcp::endpoint& where) {
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    const tcp::endpoint bound = acceptor_.local_endpoint();

    asio::co_spawn(acceptor_.get_executor(), accept_loop(),
                   [](std::exception_ptr e) { log_escaped(e, "accept loop"); });
    for (auto& context : contexts_) {
        threads_.emplace_back([&context = *context] {
            // A handler that throws must not take the process down: log it and keep serving.
            for (;;) {
                try {
                    context.run();
                    return;
                } catch (const std::exception& e) {
                    spdlog::error("I/O thread caught an exception: {}", e.what());
                }
            }
        });
    }
    return bound;
}

asio::awaitable<void> HttpServer::accept_loop() {
    for (;;) {
        error_code ec;
        // Connections go to the I/O threads in turn.
        asio::io_context& context = *contexts_[next_context_];
        next_context_ = (next_context_ + 1) % contexts_.size();
        tcp::socket socket(context);
        co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_ || !acceptor_.is_open()) co_return;
        if (ec) {
            co_await back_off_after_accept_error(ec);
            continue;
        }
        accept_backoff_ = std::chrono::milliseconds(0);
        socket.set_option(tcp::no_delay(true), ec);
        auto connection = std::make_shared<Connection>(
            std::move(socket), std::min(options_.read_timeout, options_.idle_timeout));
        bool admitted = false;
        {
            std::lock_guard lock(connections_mutex_);
            admitted = connections_.size() < options_.max_connections;
            if (admitted) connections_.insert(connection);
        }
        if (admitted) {
            asio::co_spawn(context, serve(connection),
                           [](std::exception_ptr e) { log_escaped(e, "connection"); });
            continue;
        }

        ++turned_away_;
        ++turned_away_unlogged_;
        const auto now = std::chrono::steady_clock::now();
        if (now - turned_away_logged_ >= kLogAtMostEvery) {
            spdlog::warn(
                "connection limit reached: {} connections open (MAX_CONNECTIONS); {} refused since the last "
                "line",
                options_.max_connections, turned_away_unlogged_);
            turned_away_unlogged_ = 0;
            turned_away_logged_ = now;
        }
        if (turning_away_.load() < kMaxTurningAway) {
            ++turning_away_;
            asio::co_spawn(context, turn_away(connection),
                           [](std::exception_ptr e) { log_escaped(e, "refusal"); });
        } else {
            connection->stream.close();
        }
    }
}

asio::awaitable<void> HttpServer::back_off_after_accept_error(const error_code& failure) {
    // Out of descriptors and the like: the pending connection stays queued, so retrying at
    // once would spin. Pause, longer while it lasts, and log a line now and then.
    accept_backoff_ = std::clamp(accept_backoff_ * 2, kFirstAcceptPause, kLastAcceptPause);
    ++accept_errors_unlogged_;
    const auto now = std::chrono::steady_clock::now();
    if (now - accept_error_logged_ >= kLogAtMostEvery) {
        spdlog::warn("accept failed: {} ({} time(s) since the last line); pausing accepts for {} ms",
                     failure.message(), accept_errors_unlogged_, accept_backoff_.count());
        accept_errors_unlogged_ = 0;
        accept_error_logged_ = now;
    }
    error_code ec;
    asio::steady_timer pause(acceptor_.get_executor(), accept_backoff_);
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> HttpServer::turn_away(std::shared_ptr<Connection> connection) {
    struct Release {
        std::atomic<std::size_t>& count;
        ~Release() { --count; }
    } release{turning_away_};
    co_await refuse(*connection, ErrorCode::service_unavailable, "too many open connections; retry shortly",
                    kTurnAwayRetryAfter);
    connection->stream.close();
    connection->stop_timer();
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> connection) {
    auto& stream = connection->stream;
    beast::flat_buffer buffer;  // reused by every request of the connection
    ConnectionWatch watch(stream, buffer, options_.max_header_bytes);
    error_code ec;
    const auto remote = stream.socket().remote_endpoint(ec).address();
    TokenMemo token_memo;  // the bearer token the connection presented last

    while (!stopping_) {
        connection->busy = false;
        if (buffer.size() == 0) {
            // Between requests: wait for the first byte under the idle timeout.
            connection->expires_after(options_.idle_timeout);
            const std::size_t n = co_await stream.async_read_some(
                buffer.prepare(kFirstReadBytes), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            buffer.commit(n);
        }
        connection->busy = true;

        RequestParser parser;
        parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
        parser.body_limit(options_.max_body_bytes);
        connection->expires_after(options_.read_timeout);
        co_await parse_until(
            stream, buffer, parser, [&parser] { return parser.is_header_done(); }, ec);
        if (!ec) {
            // Framing the peer and a proxy in front could read differently: 400 and close
            // before any of the body is read (RFC 9112 §6.3).
            if (const auto problem = request_header_problem(parser.get(), parser.chunked())) {
                co_await refuse(*connection, ErrorCode::invalid_request, *problem);
                break;
            }
            if (!parser.is_done()) {
                parser.eager(true);
                co_await parse_until(
                    stream, buffer, parser, [&parser] { return parser.is_done(); }, ec);
            }
        }
        if (ec == bhttp::error::header_limit) {
            co_await refuse(*connection, ErrorCode::headers_too_large, "request headers are too large");
            break;
        }
        if (ec == bhttp::error::body_limit) {
            co_await refuse(*connection, ErrorCode::payload_too_large, "request body is too large");
            break;
        }
        if (is_parse_error(ec)) {
            co_await refuse(*connection, ErrorCode::invalid_request, parse_error_message(ec));
            break;
        }
        if (ec) break;                // timeout, peer gone, or cancelled by stop()
        connection->expires_never();  // the handler's time is its own

        const Request& request = parser.get();
        RequestContext ctx(request);
        ctx.remote = remote;
        ctx.peer = &watch;
        ctx.token_memo = &token_memo;
        // A body handed over for this request never outlives it, even if the pipeline throws.
        struct ForgetBodyStream {
            const RequestContext& ctx;
            ~ForgetBodyStream() { take_body_stream(ctx); }
        } forget_body_stream{ctx};
        Response res = co_await pipeline_.handle(ctx);
        const bool keep_alive = request.keep_alive() && !stopping_;
        res.version(request.version());
        res.keep_alive(keep_alive);
        if (auto body = take_body_stream(ctx); body && res.result() == bhttp::status::ok) {
            const bool whole = co_await write_streamed(stream, std::move(res), *body, options_.read_timeout);
            if (!whole || !keep_alive) break;
            stream.expires_never();  // write_streamed's limits are the stream's own
            continue;
        }
        co_await connection->write_answer(res, options_.read_timeout, ec);
        if (ec || !keep_alive) break;
        // A large answer's header block is rare; its buffer is not kept for the connection's life.
        if (connection->head.capacity() > kKeptHeadBytes) std::string().swap(connection->head);
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
    connection->stop_timer();
    forget(connection);
}

asio::awaitable<void> HttpServer::refuse(Connection& connection, ErrorCode code, std::string_view message,
                                         std::optional<std::chrono::seconds> retry_after) {
    RequestContext ctx(empty_request());
    error_code ec;
    ctx.remote = connection.stream.socket().remote_endpoint(ec).address();
    Response res = pipeline_.reject(ctx, code, message);
    if (retry_after) res.set(bhttp::field::retry_after, std::to_string(retry_after->count()));
    res.keep_alive(false);
    co_await connection.write_answer(res, options_.read_timeout, ec);
    if (ec) co_return;

    // Lingering close: closing with unread input makes the kernel send a reset, which can
    // destroy the answer before the client reads it. Read and drop what the client still
    // sends, for a bounded time and amount.
    connection.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    connection.expires_after(kLingerTime);
    std::array<char, 4096> sink;
    for (std::size_t drained = 0; drained < kLingerBytes;) {
        drained += co_await connection.stream.async_read_some(asio::buffer(sink),
                                                              asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
}

void HttpServer::forget(const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(connection);
    if (connections_.empty()) connections_drained_.notify_all();
}

std::size_t HttpServer::connection_count() const {
    std::lock_guard lock(connections_mutex_);
    return connections_.size();
}

void HttpServer::stop() {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;

    asio::post(acceptor_.get_executor(), [this] {
        error_code ec;
        acceptor_.close(ec);
    });
    {
        std::unique_lock lock(connections_mutex_);
        // Idle connections close now; busy ones close after answering (keep-alive is off).
        for (const auto& connection : connections_) {
            asio::post(connection->stream.get_executor(), [connection] {
                if (!connection->busy) connection->stream.cancel();
            });
        }
        connections_drained_.wait_for(lock, options_.shutdown_grace, [this] { return connections_.empty(); });
        if (!connections_.empty()) {
            spdlog::warn("stopping with {} connection(s) still open after the grace period",
                         connections_.size());
        }
    }
    work_.clear();
    for (auto& context : contexts_) context->stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

DescriptorFit fit_descriptor_limit(std::size_t max_connections, std::size_t reserve) {
    DescriptorFit fit{max_connections, std::nullopt};
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return fit;
    const rlim_t needed = static_cast<rlim_t>(max_connections + reserve);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return fit;
    const auto soft = static_cast<std::size_t>(limit.rlim_cur);
    fit.max_connections = soft > reserve * 2 ? soft - reserve : std::max<std::size_t>(soft / 2, 1);
    fit.warning = "the file descriptor limit (RLIMIT_NOFILE " + std::to_string(soft) +
                  ") is lower than MAX_CONNECTIONS=" + std::to_string(max_connections) + " plus " +
                  std::to_string(reserve) + " for the store, logs and provider calls: serving at most " +
                  std::to_string(fit.max_connections) +
                  " connections; raise the limit (ulimit -n, systemd LimitNOFILE=) or lower MAX_CONNECTIONS";
    return fit;
}

tcp::endpoint parse_listen_address(const std::string& text) {
    const auto bad = [&](const std::string& why) {
        return ConfigError("listen address \"" + text + "\" " + why +
                           " (expected HOST:PORT, e.g. 0.0.0.0:8080)");
    };
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw bad("has no port");
    std::string host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    unsigned port = 0;
    const auto [end, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || perr != std::errc() || end != port_text.data() + port_text.size() ||
        port > 65535) {
        throw bad("has an invalid port");
    }
    error_code ec;
    const auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (ec) throw bad("has an invalid host (a numeric IP address is needed)");
    return {address, static_cast<unsigned short>(port)};
}

std::string endpoint_url(const asio::ip::tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return "http://" + host + ":" + std::to_string(endpoint.port());
}

}  // namespace broker
