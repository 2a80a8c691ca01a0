// Which request headers the server refuses before routing (RFC 9112 §3.2, §6.1, §6.3): an
// unsupported or conflicting Transfer-Encoding (the request-smuggling shapes a proxy and
// this server could disagree on), HTTP/1.1 without exactly one Host, and a repeated field
// the broker reads one value of (the token, the participant ids, the idempotency key).
#pragma once

#include <optional>
#include <string>

#include "http/asio.hpp"

namespace broker {

// Why a request whose header has been read must be answered 400 and its connection
// closed; nothing when its framing is sound. `chunked` is what Beast's parser decided
// (parser.chunked()).
std::optional<std::string> request_header_problem(const bhttp::request_header<>& header, bool chunked);

}  // namespace broker
