// The mapping of a SQLite row to a Sandbox, and the helpers the store's statements share.
// The statements themselves are in sql/*.sql, compiled in as the constants of
// sql/sqlite_queries.hpp (never built from input; tests ask SQLite how it plans them).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/sandbox.hpp"
#include "sql/sqlite_queries.hpp"
#include "store/sandbox_columns.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// The smallest string greater than every string that starts with `prefix` (byte order, as
// SQLite's BINARY collation compares): the prefix with its last byte below 0xFF
// incremented and what follows it dropped. Empty when there is none (all bytes 0xFF).
std::string prefix_upper_bound(std::string_view prefix);

// Reads the kSandboxColumns of the current row (columns 0 to 14; a statement may return more
// after them). Throws std::logic_error when the statement's columns are not these.
Sandbox read_sandbox(const Query& row);

// Records a transition in sandbox_events; `from` empty for a sandbox that did not exist.
void record_event(Connection& conn, const std::string& sandbox_id, UnixSeconds at,
                  std::optional<SandboxStatus> from, SandboxStatus to, std::string_view actor,
                  std::string_view reason);
// The same for a caller that holds the row as the change left it (`to` is its status): its
// outbox event is written from that row instead of reading it again.
void record_event(Connection& conn, const Sandbox& after, UnixSeconds at, std::optional<SandboxStatus> from,
                  std::string_view actor, std::string_view reason);

}  // namespace broker::sqlite
