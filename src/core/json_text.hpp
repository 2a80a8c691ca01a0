// A text as a JSON string literal appended to a buffer: what the access log and the answers
// written without a JSON tree (http/json_object) both need, kept once.
#pragma once

#include <string>
#include <string_view>

namespace broker {

// Appends `text` as a JSON string literal, quotes included. Plain printable ASCII, nearly
// every value, is copied as is; anything else goes through nlohmann-json's escaper, and
// invalid UTF-8 (header values are bytes) becomes U+FFFD instead of throwing.
void append_json_string(std::string& out, std::string_view text);

}  // namespace broker
