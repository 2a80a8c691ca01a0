// The body of a lease extension (POST /v1/sandboxes/{id}/extend): {"seconds": S}, S a whole
// number of seconds from 1 up to kMaxExtendSeconds. Parsed apart from the handler so every
// refusal is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace broker {

// Beyond a year an extension is a mistake (a millisecond value, a timestamp sent as seconds).
inline constexpr std::int64_t kMaxExtendSeconds = 366LL * 24 * 3600;

// The seconds asked for, or the message of the 400 that refuses the body.
std::variant<std::int64_t, std::string> parse_extend_body(std::string_view body);

}  // namespace broker
