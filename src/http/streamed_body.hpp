// Answers whose body is written while it is produced (a large export). The handler returns
// the answer's header (a 200 without a body) and hands the body over with set_body_stream();
// the server takes it after the pipeline (the middlewares have seen the header) and writes
// it with write_streamed(): `Transfer-Encoding: chunked`, one chunk per piece, the last chunk
// (to an HTTP/1.0 client the pieces as they are, then the connection closes). Only one piece
// is in memory at a time, and the connection's coroutine waits for each piece without
// holding an I/O thread (the stream offloads its store reads).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "http/asio.hpp"
#include "http/request_context.hpp"

namespace broker {

// Each call gives the next piece of the body; nothing once it is done. It may throw: the
// answer is then cut off.
using BodyStream = std::function<asio::awaitable<std::optional<std::string>>()>;

// Hands the body of the answer to `ctx` to the server. Kept beside the request (keyed by its
// context, which lives until the answer is written) so the request's own types stay as they are.
void set_body_stream(const RequestContext& ctx, BodyStream body);

// The body handed over for `ctx`, removed from where it was kept; nothing when none was.
// The server calls it after every request, so nothing handed over outlives its request.
std::optional<BodyStream> take_body_stream(const RequestContext& ctx);

// True when the whole body was written and the connection may serve another request. False
// after an HTTP/1.0 answer, or when the peer went away, a write timed out (`timeout` per
// write), or the stream threw: then the answer ends without its last chunk, which a client
// reads as a truncated transfer, and the connection must be closed.
asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, Response head, const BodyStream& body,
                                     std::chrono::steady_clock::duration timeout);

}  // namespace broker
