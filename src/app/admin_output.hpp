// How the admin command line prints: aligned tables for people, RFC 4180 CSV rows, and the
// text of one JSON value in a cell (times as UTC dates, null as "-").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace broker {

using TableRow = std::vector<std::string>;

// `headers` and `rows` as columns separated by two spaces, each as wide as its widest cell
// (counted in characters, not bytes); the last column is not padded.
void print_table(std::ostream& out, const TableRow& headers, const std::vector<TableRow>& rows);

// A Unix time as "2026-11-30T11:09:24Z".
std::string utc_time(long long unix_seconds);

// A time given on the command line: Unix seconds ("1796288400") or ISO-8601 UTC in the form
// utc_time() prints ("2026-12-03T09:00:00Z"); nothing for anything else (an impossible date too).
std::optional<long long> parse_utc_time(std::string_view text);

// One JSON value as a table cell: strings as they are (control characters shown as '?', so
// a value cannot steer the terminal), numbers and booleans as text, null as "-", and the
// fields named in `times` (Unix seconds) as UTC dates.
std::string cell(const nlohmann::ordered_json& value, bool is_time = false);

// Whether a field of the broker's answers holds a Unix time (`*_at`, `lease_until`).
bool is_time_field(std::string_view name);

// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF; quotes doubled.
std::string csv_field(std::string_view text);

// One CSV record of `fields`, ended by CRLF.
std::string csv_record(const std::vector<std::string>& fields);

// A JSON value as a CSV field's text: strings as they are, null as empty, others as JSON.
std::string csv_text(const nlohmann::ordered_json& value);

}  // namespace broker
