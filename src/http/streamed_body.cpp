// Chunked writing of a streamed body: see streamed_body.hpp.
#include "http/streamed_body.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace broker {
namespace {

struct Handed {
    std::mutex mutex;
    std::unordered_map<const RequestContext*, BodyStream> bodies;
    std::atomic<std::size_t> count{0};  // lets take_body_stream skip the lock when none is kept
};

Handed& handed() {
    static Handed h;
    return h;
}

}  // namespace

void set_body_stream(const RequestContext& ctx, BodyStream body) {
    Handed& h = handed();
    std::lock_guard lock(h.mutex);
    h.bodies[&ctx] = std::move(body);
    h.count.store(h.bodies.size());
}

std::optional<BodyStream> take_body_stream(const RequestContext& ctx) {
    Handed& h = handed();
    if (h.count.load() == 0) return std::nullopt;
    std::lock_guard lock(h.mutex);
    const auto it = h.bodies.find(&ctx);
    if (it == h.bodies.end()) return std::nullopt;
    BodyStream body = std::move(it->second);
    h.bodies.erase(it);
    h.count.store(h.bodies.size());
    return body;
}

asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, Response res, const BodyStream& body,
                                     std::chrono::steady_clock::duration timeout) {
    bhttp::response<bhttp::empty_body> head(std::move(res.base()));
    head.erase(bhttp::field::content_length);
    // HTTP/1.0 has no chunked coding: the body runs to the end of the connection instead.
    const bool chunked = head.version() >= 11;
    if (chunked) {
        head.chunked(true);
    } else {
        head.keep_alive(false);
    }
    bhttp::response_serializer<bhttp::empty_body> serializer(head);
    boost::system::error_code ec;
    stream.expires_after(timeout);
    co_await bhttp::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    for (;;) {
        std::optional<std::string> piece;
        try {
            piece = co_await body();
        } catch (const std::exception& e) {
            spdlog::error("streamed answer cut off: {}", e.what());
            co_return false;
        }
        if (!piece) break;
        if (piece->empty()) continue;
        stream.expires_after(timeout);
        if (chunked) {
            co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(*piece)),
                                       asio::redirect_error(asio::use_awaitable, ec));
        } else {
            co_await asio::async_write(stream, asio::buffer(*piece),
                                       asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) co_return false;
    }
    if (!chunked) co_return false;  // the end of the body is the end of the connection
    stream.expires_after(timeout);
    co_await asio::async_write(stream, bhttp::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
}

}  // namespace broker
