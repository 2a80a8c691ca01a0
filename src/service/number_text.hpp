// Numbers in request parameters ("limit=20", "window_hours=1.5"): the whole text or nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace broker {

// A decimal integer that is the whole text (no sign but '-', no spaces, no trailing text).
std::optional<std::int64_t> whole_number(std::string_view text);

// A finite decimal number in fixed notation that is the whole text ("1.5", "24").
std::optional<double> decimal_number(std::string_view text);

}  // namespace broker
