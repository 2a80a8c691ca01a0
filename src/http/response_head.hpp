// An answer's header block in its wire form, written into a buffer the connection reuses, so
// the answer leaves with one gathered write of that buffer and the body. Beast's serializer
// yields the same bytes through a chain of buffer views that, for a small answer, costs more
// instructions than routing and handling the request (bench/README.md); a unit test holds
// the two byte for byte equal.
#pragma once

#include <string>

#include "http/asio.hpp"

namespace broker {

// Replaces `out` with the status line and the header fields of `res` in their order, ended by
// the empty line; res.body() follows them on the wire. The framing is the caller's:
// prepare_payload() first (Content-Length); chunked answers are write_streamed's.
void response_head(const Response& res, std::string& out);

}  // namespace broker
