// The two text rules HTTP's fields share, locale-free: optional whitespace around a value or a
// list item, and names compared without regard to ASCII case (header names, auth schemes,
// directives).
#pragma once

#include <string_view>

namespace broker {

// `text` without the spaces and horizontal tabs around it (RFC 9110's OWS).
std::string_view trim_ows(std::string_view text);

// Whether `a` and `b` are equal when ASCII letters are compared without their case. Other bytes
// compare as they are (no locale: 'İ' is not 'i', and '@' is not '`').
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace broker
