// The mapping of a PostgreSQL result row to a Sandbox, and the text helpers the statements
// need. The statements themselves are in sql/*.sql, compiled in as the constants of
// sql/postgres_queries.hpp and prepared once per connection under their names (never built
// from input).
#pragma once

#include <optional>
#include <pqxx/connection>
#include <pqxx/row>
#include <span>
#include <string>
#include <string_view>

#include "core/sandbox.hpp"
#include "core/utf8.hpp"
#include "sql/postgres_queries.hpp"
#include "store/lifecycle_store.hpp"
#include "store/sandbox_columns.hpp"

namespace broker::pg {

// Names of the prepared statements: those of sql/*.sql (generated from them).
namespace stmt = sql::name;

// Where the sandbox starts in the rows of the allocation and holdings statements: after the
// `taken` flag.
inline constexpr int kAfterTaken = 1;

// Prepares every statement of sql/*.sql but the dashboard's and the schema steps' (named
// `schema_...`) on a new connection, each under its name.
void prepare_statements(pqxx::connection& conn);

// Reads the kSandboxColumns of a row, starting at `first_column`. Throws std::logic_error
// when the row's columns there are not these.
Sandbox read_sandbox(const pqxx::row& row, int first_column = 0);
SandboxEvent read_event(const pqxx::row& row);

// The smallest valid UTF-8 string greater than every string that starts with `prefix`, in
// byte order (the "C" collation the name column uses, and SQLite's BINARY order): the
// prefix's last code point below U+10FFFF incremented (skipping surrogates) and what follows
// it dropped. A UTF8 database refuses invalid UTF-8, so SQLite's "increment the last byte"
// cannot be used. Empty when there is none (every code point is U+10FFFF); std::nullopt
// when `prefix` is not valid UTF-8 (then no stored name can start with it).
std::optional<std::string> utf8_prefix_upper_bound(std::string_view prefix);

// is_valid_utf8 (core/utf8.hpp) tells what a UTF8 database accepts.

// A PostgreSQL array literal ({"a","b"}) of the strings, for a text[] parameter: one
// parameter carries a whole provider list instead of one round trip per sandbox.
template <class Range, class Get>
std::string text_array_literal(const Range& items, Get get);

void append_array_element(std::string& out, std::string_view value);

template <class Range, class Get>
std::string text_array_literal(const Range& items, Get get) {
    std::string out = "{";
    bool first = true;
    for (const auto& item : items) {
        if (!first) out += ',';
        first = false;
        append_array_element(out, get(item));
    }
    out += '}';
    return out;
}

}  // namespace broker::pg
