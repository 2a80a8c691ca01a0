// Well-formed UTF-8, its one decoder and encoder: what identifiers from the outside (participant ids, keys,
// prefixes) must be before a store is asked about them (a PostgreSQL UTF8 database refuses anything else).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace broker {

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates, code points past
// U+10FFFF or NUL bytes).
bool is_valid_utf8(std::string_view text);

// Decodes the sequence starting at text[i]: its length in bytes, with the code point in
// `code_point`; 0 when it is malformed (or a NUL byte), by the rules of is_valid_utf8.
std::size_t decode_utf8(std::string_view text, std::size_t i, char32_t& code_point);

// Appends the UTF-8 encoding of `code_point` (a scalar value: not a surrogate, at most U+10FFFF).
void append_utf8(std::string& out, char32_t code_point);

}  // namespace broker
