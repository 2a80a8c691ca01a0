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
// index; with a prefix the pick is an index range [prefix, upper bound). ?1 prefix, ?2 upper
// bound. The pick reads the whole row, so the UPDATE below needs no RETURNING (which would
// fill an ephemeral table on every allocation): the writer knows what it wrote.
#define BROKER_PICK_AVAILABLE_SQL(name_range)                                                \
    "SELECT " BROKER_SANDBOX_COLUMNS " FROM sandboxes WHERE status = 'available'" name_range \
    " ORDER BY name LIMIT 1"

inline constexpr std::string_view kPickAvailableSql = BROKER_PICK_AVAILABLE_SQL("");
inline constexpr std::string_view kPickAvailablePrefixSql =
    BROKER_PICK_AVAILABLE_SQL(" AND name >= ?1 AND name < ?2");
// For a prefix without an upper bound (every byte 0xFF): everything from the prefix on.
inline constexpr std::string_view kPickAvailableFromPrefixSql = BROKER_PICK_AVAILABLE_SQL(" AND name >= ?1");

// Takes the picked sandbox, by primary key, still only if it is available. ?1 sandbox id,
// ?2 participant, ?3 track name, ?4 idempotency key, ?5 now, ?6 expires_at.
inline constexpr std::string_view kAllocateByIdSql =
    "UPDATE sandboxes SET status = 'allocated', allocated_to_track = ?2, track_name = ?3, "
    "idempotency_key = ?4, allocated_at = ?5, expires_at = ?6, deletion_requested_at = NULL, "
    "version = version + 1, updated_at = ?5 WHERE sandbox_id = ?1 AND status = 'available'";

// Everything the participant holds, answered from the partial unique index on allocated
// (participant, key). ?1 participant.
inline constexpr std::string_view kHoldingsSql =
    "SELECT " BROKER_SANDBOX_COLUMNS " FROM sandboxes WHERE allocated_to_track = ?1 AND status = 'allocated'";

// Whether any sandbox of the pool (every status but deleted) has a name in the prefix's
// range: asked only when allocation found nothing available. One (status, name) index range
// per status. ?1 prefix, ?2 upper bound.
#define BROKER_PREFIX_KNOWN_SQL(name_range)                                                   \
    "SELECT 1 FROM sandboxes WHERE status IN ('available', 'allocated', 'pending_deletion', " \
    "'stale', 'deletion_failed')" name_range " LIMIT 1"
inline constexpr std::string_view kPrefixKnownSql = BROKER_PREFIX_KNOWN_SQL(" AND name >= ?1 AND name < ?2");
inline constexpr std::string_view kPrefixKnownFromSql = BROKER_PREFIX_KNOWN_SQL(" AND name >= ?1");
#undef BROKER_PREFIX_KNOWN_SQL

inline constexpr std::string_view kFindByIdSql =
    "SELECT " BROKER_SANDBOX_COLUMNS " FROM sandboxes WHERE sandbox_id = ?1";

inline constexpr std::string_view kMarkSql =
    "UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = ?3, version = version + 1, "
    "updated_at = ?3 WHERE sandbox_id = ?1 AND status = 'allocated' AND allocated_to_track = ?2 "
    "RETURNING " BROKER_SANDBOX_COLUMNS;

// ?1 id, ?2 participant, ?3 expires_at read, ?4 version read, ?5 new expires_at, ?6 now.
inline constexpr std::string_view kExtendSql =
    "UPDATE sandboxes SET expires_at = ?5, version = version + 1, updated_at = ?6 "
    "WHERE sandbox_id = ?1 AND status = 'allocated' AND allocated_to_track = ?2 AND expires_at = ?3 "
    "AND version = ?4 RETURNING " BROKER_SANDBOX_COLUMNS;

inline constexpr std::string_view kInsertEventSql =
    "INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

inline constexpr std::string_view kCountByStatusSql =
    "SELECT status, count(*) FROM sandboxes GROUP BY status";

inline constexpr std::string_view kListAllSql =
    "SELECT " BROKER_SANDBOX_COLUMNS
    " FROM sandboxes WHERE sandbox_id > ?1 AND status <> 'deleted' "
    "ORDER BY sandbox_id LIMIT ?2";
// A page of one status walks the primary key from the cursor (`+status` keeps SQLite off the
// (status, name) index, which would read and sort every row of the status for each page):
// listing a whole status reads the table about once, however many pages it takes.
inline constexpr std::string_view kListByStatusSql = "SELECT " BROKER_SANDBOX_COLUMNS
                                                     " FROM sandboxes WHERE sandbox_id > ?1 AND +status = ?3 "
                                                     "ORDER BY sandbox_id LIMIT ?2";

// The same picks under reservations: ?3 is a JSON array of name prefixes whose sandboxes
// other tracks' reservations hold back (quota_ops), skipped in the index walk.
#define BROKER_NOT_HELD_BACK \
    " AND NOT EXISTS (SELECT 1 FROM json_each(?3) b WHERE substr(name, 1, length(b.value)) = b.value)"
inline constexpr std::string_view kPickUnreservedSql = BROKER_PICK_AVAILABLE_SQL(BROKER_NOT_HELD_BACK);
inline constexpr std::string_view kPickUnreservedPrefixSql =
    BROKER_PICK_AVAILABLE_SQL(" AND name >= ?1 AND name < ?2" BROKER_NOT_HELD_BACK);
inline constexpr std::string_view kPickUnreservedFromPrefixSql =
    BROKER_PICK_AVAILABLE_SQL(" AND name >= ?1" BROKER_NOT_HELD_BACK);
#undef BROKER_NOT_HELD_BACK

#undef BROKER_PICK_AVAILABLE_SQL
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
