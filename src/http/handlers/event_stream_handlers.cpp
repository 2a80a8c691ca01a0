// The live event stream's route: see event_stream_handlers.hpp.
#include "http/handlers/event_stream_handlers.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "http/error_response.hpp"
#include "http/handlers/query_params.hpp"
#include "http/offload.hpp"
#include "http/streamed_body.hpp"

namespace broker {
namespace {

// Events read from the outbox at once while a resuming client catches up.
constexpr int kCatchUpPage = 200;
// The first thing on the stream: how long EventSource waits before it reconnects.
constexpr std::string_view kHello = "retry: 2000\n\n";
constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

// A Last-Event-ID: a whole number of at most 18 digits; nothing when malformed.
std::optional<std::int64_t> event_id(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::int64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

// One client's stream, kept by its body; leaving the fan-out when the body goes (the stream
// ended, the client went away, or the answer was never sent).
struct ClientStream {
    ClientStream(EventFanout& f, const asio::any_io_executor& executor) : fanout(f), timer(executor) {}
    ~ClientStream() {
        if (subscription) fanout.unsubscribe(subscription);
    }

    EventFanout& fanout;
    EventFilter filter;
    std::shared_ptr<EventFanout::Subscription> subscription;
    asio::steady_timer timer;               // the wait for events; a notification cancels it
    std::optional<std::int64_t> last_sent;  // the id the client has; unknown until the start is
    bool catching_up = false;
    bool hello_sent = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

}  // namespace

void EventStreamHandlers::add_routes(Router& router, const std::string& base_path) {
    router.add(bhttp::verb::get, base_path + "/admin/events", Access::admin_read,
               [this](RequestContext& ctx) { return events(ctx); });
}

asio::awaitable<Response> EventStreamHandlers::events(RequestContext& ctx) {
    std::optional<Response> error;
    const auto params = read_query(ctx, error);
    if (!params) co_return std::move(*error);
    const auto filter = EventFilter::parse(query_value(*params, "type").value_or(""),
                                           query_value(*params, "track").value_or(""));
    if (!filter) {
        co_return error_response(ErrorCode::invalid_request,
                                 "type must be a comma-separated list of event types or prefixes "
                                 "(sandbox.allocated,pool.low or sandbox.)",
                                 ctx.request_id);
    }
    // The header wins over the query parameter: EventSource sends it on every reconnection.
    std::optional<std::int64_t> resume_after;
    std::string resume_text = std::string(to_std(ctx.request["Last-Event-ID"]));
    if (resume_text.empty()) resume_text = query_value(*params, "last_event_id").value_or("");
    if (!resume_text.empty()) {
        resume_after = event_id(resume_text);
        if (!resume_after) {
            co_return error_response(ErrorCode::invalid_request,
                                     "Last-Event-ID (or last_event_id) must be an event id, a whole number",
                                     ctx.request_id);
        }
    }
    if (!store_ || !fanout_) {
        co_return error_response(ErrorCode::service_unavailable, "this store keeps no events",
                                 ctx.request_id);
    }

    const auto executor = co_await asio::this_coro::executor;
    auto client = std::make_shared<ClientStream>(*fanout_, executor);
    client->filter = *filter;
    std::weak_ptr<ClientStream> weak = client;
    // Called on the reader's thread: the wait is cancelled on the connection's own executor.
    client->subscription = fanout_->subscribe(*filter, [executor, weak] {
        asio::post(executor, [weak] {
            if (auto c = weak.lock()) c->timer.cancel();
        });
    });
    if (!client->subscription) {
        co_return error_response(ErrorCode::service_unavailable, "the server is shutting down",
                                 ctx.request_id, std::chrono::seconds(1));
    }
    if (!client->subscription->start_after()) wake_reader_();
    if (resume_after) {
        client->last_sent = resume_after;
        client->catching_up = true;
    }

    set_body_stream(ctx,
                    [client, store = store_, pool = &pool_,
                     keepalive = keepalive_]() -> asio::awaitable<std::optional<std::string>> {
                        ClientStream& c = *client;
                        for (;;) {
                            const auto& sub = *c.subscription;
                            if (sub.closed() || sub.dropped()) co_return std::nullopt;
                            const auto start = sub.start_after();
                            if (!c.last_sent) c.last_sent = start;  // a new client starts where the reader is
                            std::string out;
                            if (!c.hello_sent && c.last_sent) {
                                out = kHello;
                                c.hello_sent = true;
                            }
                            bool read_more = false;
                            if (c.catching_up) {
                                // Every event after the client's id up to where the queue starts, from the
                                // outbox.
                                if (start && *c.last_sent >= *start) {
                                    c.catching_up = false;
                                } else {
                                    auto work = [store, after = *c.last_sent] {
                                        return store->read_events(after, kCatchUpPage);
                                    };
                                    const std::vector<OutboxEvent> page =
                                        co_await offload(*pool, std::move(work));
                                    for (const auto& e : page) {
                                        if (c.filter.matches(e)) out += format_sse_event(e);
                                        c.last_sent = e.id;
                                    }
                                    if (page.empty() && start) {
                                        // Nothing after the client's id up to the reader's start: live from
                                        // here.
                                        c.last_sent = std::max(*c.last_sent, *start);
                                        c.catching_up = false;
                                    }
                                    read_more = !page.empty();
                                }
                            }
                            if (!c.catching_up) {
                                for (const auto& e : c.subscription->take()) {
                                    if (e->id <= *c.last_sent) continue;  // the catch-up sent it already
                                    out += e->text;
                                    c.last_sent = e->id;
                                }
                            }
                            if (!out.empty()) {
                                c.last_write = std::chrono::steady_clock::now();
                                co_return out;
                            }
                            if (read_more) continue;
                            // Nothing to send: wait for the reader's notification, or write a keep-alive
                            // line.
                            boost::system::error_code ec;
                            c.timer.expires_at(c.last_write + keepalive);
                            co_await c.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                            if (!ec) {
                                c.last_write = std::chrono::steady_clock::now();
                                co_return std::string(kKeepAlive);
                            }
                        }
                    });
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Accel-Buffering", "no");  // nginx: pass events through as they come
    co_return res;
}

}  // namespace broker
