// Query strings of admin requests ("status=stale&limit=20"): split and percent-decoded once,
// so handlers ask for parameters by name and refuse a malformed query with one message.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace broker {

using QueryParams = std::map<std::string, std::string, std::less<>>;

// Parses "a=1&b=x%20y": names and values percent-decoded, '+' read as a space, a name
// without '=' given the empty value, a repeated name keeping its first value. Nothing when
// an escape is malformed ("%4", "%zz") or decodes to a control character.
std::optional<QueryParams> parse_query(std::string_view query);

// The value of `name`, nothing when absent.
std::optional<std::string> query_value(const QueryParams& params, std::string_view name);

}  // namespace broker
