// Well-formed UTF-8: what identifiers from the outside (participant ids, keys, prefixes) must
// be before a store is asked about them (a PostgreSQL UTF8 database refuses anything else).
#pragma once

#include <string_view>

namespace broker {

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates, code points past
// U+10FFFF or NUL bytes).
bool is_valid_utf8(std::string_view text);

}  // namespace broker
