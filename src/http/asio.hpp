// The one way to include Asio and Beast. Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>, so <utility> must come first; every file that needs Asio or
// Beast includes this header instead of Boost's directly.
#pragma once

// clang-format off
#include <string_view>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

namespace broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// What handlers receive and answer: whole messages with in-memory string bodies.
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Beast 1.74 speaks boost::string_view; these convert without copying.
inline std::string_view to_std(beast::string_view s) {
    return {s.data(), s.size()};
}
inline beast::string_view to_beast(std::string_view s) {
    return {s.data(), s.size()};
}

}  // namespace broker
