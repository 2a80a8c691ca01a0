// The SQL the SQLite store runs, in one place: the statements are constants (never built
// from input) and tests can ask SQLite how it plans them. Also the mapping of a row to a
// Sandbox.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/sandbox.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// The columns read_sandbox() expects, in its order.
#define BROKER_SANDBOX_COLUMNS                                                                 \
    "sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name, " \
    "idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count, " \
    "created_at, updated_at, version"

// Allocation picks the first available sandbox by name straight from the (status, name)
// index; with a prefix the pick is an index range [prefix, upper bound). ?1 participant,
// ?2 track name, ?3 idempotency key, ?4 now, ?5 expires_at, ?6 prefix, ?7 upper bound.
#define BROKER_ALLOCATE_SQL(name_range)                                                        \
    "UPDATE sandboxes SET status = 'allocated', allocated_to_track = ?1, track_name = ?2, "    \
    "idempotency_key = ?3, allocated_at = ?4, expires_at = ?5, deletion_requested_at = NULL, " \
    "version = version + 1, updated_at = ?4 "                                                  \
    "WHERE status = 'available' AND sandbox_id = (SELECT sandbox_id FROM sandboxes "           \
    "WHERE status = 'available'" name_range " ORDER BY name LIMIT 1) RETURNING " BROKER_SANDBOX_COLUMNS

inline constexpr std::string_view kAllocateAnySql = BROKER_ALLOCATE_SQL("");
inline constexpr std::string_view kAllocatePrefixSql = BROKER_ALLOCATE_SQL(" AND name >= ?6 AND name < ?7");
// For a prefix without an upper bound (every byte 0xFF): everything from the prefix on.
inline constexpr std::string_view kAllocateFromPrefixSql = BROKER_ALLOCATE_SQL(" AND name >= ?6");

// Answered from the partial unique index on allocated keys.
inline constexpr std::string_view kFindByKeySql =
    "SELECT " BROKER_SANDBOX_COLUMNS " FROM sandboxes WHERE idempotency_key = ?1 AND status = 'allocated'";

inline constexpr std::string_view kFindByIdSql =
    "SELECT " BROKER_SANDBOX_COLUMNS " FROM sandboxes WHERE sandbox_id = ?1";

inline constexpr std::string_view kMarkSql =
    "UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = ?3, version = version + 1, "
    "updated_at = ?3 WHERE sandbox_id = ?1 AND status = 'allocated' AND allocated_to_track = ?2 "
    "RETURNING " BROKER_SANDBOX_COLUMNS;

inline constexpr std::string_view kInsertEventSql =
    "INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

inline constexpr std::string_view kCountByStatusSql =
    "SELECT status, count(*) FROM sandboxes GROUP BY status";

inline constexpr std::string_view kListAllSql =
    "SELECT " BROKER_SANDBOX_COLUMNS
    " FROM sandboxes WHERE sandbox_id > ?1 AND status <> 'deleted' "
    "ORDER BY sandbox_id LIMIT ?2";
inline constexpr std::string_view kListByStatusSql = "SELECT " BROKER_SANDBOX_COLUMNS
                                                     " FROM sandboxes WHERE sandbox_id > ?1 AND status = ?3 "
                                                     "ORDER BY sandbox_id LIMIT ?2";

#undef BROKER_ALLOCATE_SQL
#undef BROKER_SANDBOX_COLUMNS

// The smallest string greater than every string that starts with `prefix` (byte order, as
// SQLite's BINARY collation compares): the prefix with its last byte below 0xFF
// incremented and what follows it dropped. Empty when there is none (all bytes 0xFF).
std::string prefix_upper_bound(std::string_view prefix);

// Reads the BROKER_SANDBOX_COLUMNS of the current row, starting at column 0.
Sandbox read_sandbox(const Query& row);

// Records a transition in sandbox_events; `from` empty for a sandbox that did not exist.
void record_event(Connection& conn, const std::string& sandbox_id, UnixSeconds at,
                  std::optional<SandboxStatus> from, SandboxStatus to, std::string_view actor,
                  std::string_view reason);

}  // namespace broker::sqlite
