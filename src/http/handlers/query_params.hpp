// A handler's query parameters, or the 400 answer when the query string is malformed.
#pragma once

#include <optional>

#include "http/asio.hpp"
#include "http/query.hpp"
#include "http/request_context.hpp"

namespace broker {

// The request's query parameters; nothing, with `error` set to the 400 answer, for a
// malformed query.
std::optional<QueryParams> read_query(const RequestContext& ctx, std::optional<Response>& error);

}  // namespace broker
