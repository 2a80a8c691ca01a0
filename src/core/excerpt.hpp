// The start of a text (an answer body, a file) on one line, for error messages: enough to
// tell an HTML error page from JSON without copying a whole body into a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace broker {

// The first `max_chars` bytes of `text` after its leading whitespace, control characters
// made spaces, and "..." when something was cut.
std::string excerpt(std::string_view text, std::size_t max_chars = 120);

}  // namespace broker
