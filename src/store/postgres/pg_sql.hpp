// The SQL the PostgreSQL store runs, in one place: every statement is a constant prepared
// once per connection under the name given here (never built from input). Also the mapping
// of a result row to a Sandbox, and the text helpers the statements need.
#pragma once

#include <optional>
#include <pqxx/connection>
#include <pqxx/row>
#include <span>
#include <string>
#include <string_view>

#include "core/sandbox.hpp"
#include "core/utf8.hpp"
#include "store/lifecycle_store.hpp"

// The sandbox columns every row reader (read_sandbox) takes, in its order: one list for every
// statement that returns sandboxes.
#define BROKER_PG_SANDBOX_COLUMNS                                                              \
    "sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name, " \
    "idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count, " \
    "created_at, updated_at, version"

namespace broker::pg {

// Names of the prepared statements (see pg_sql.cpp for their text and parameters).
namespace stmt {
inline constexpr const char* kAllocateAny = "allocate_any";
inline constexpr const char* kAllocateRange = "allocate_range";
inline constexpr const char* kAllocateFrom = "allocate_from";
inline constexpr const char* kAllocateQuotaAny = "allocate_quota_any";
inline constexpr const char* kAllocateQuotaRange = "allocate_quota_range";
inline constexpr const char* kAllocateQuotaFrom = "allocate_quota_from";
inline constexpr const char* kQuotaApplies = "quota_applies";
inline constexpr const char* kHoldings = "holdings";
inline constexpr const char* kPrefixKnownRange = "prefix_known_range";
inline constexpr const char* kPrefixKnownFrom = "prefix_known_from";
inline constexpr const char* kFindById = "find_by_id";
inline constexpr const char* kFindByIdForUpdate = "find_by_id_for_update";
inline constexpr const char* kMark = "mark";
inline constexpr const char* kUpsert = "upsert";
inline constexpr const char* kMarkUnlistedStale = "mark_unlisted_stale";
inline constexpr const char* kCountByStatus = "count_by_status";
inline constexpr const char* kListAll = "list_all";
inline constexpr const char* kListByStatus = "list_by_status";
inline constexpr const char* kExpire = "expire";
inline constexpr const char* kClaim = "claim";
inline constexpr const char* kRecordDeleted = "record_deleted";
inline constexpr const char* kRecordFailure = "record_failure";
inline constexpr const char* kRenewClaims = "renew_claims";
inline constexpr const char* kReleaseClaims = "release_claims";
inline constexpr const char* kRemoveStale = "remove_stale";
inline constexpr const char* kBulkRemove = "bulk_remove";
inline constexpr const char* kHistory = "history";
inline constexpr const char* kPruneHistory = "prune_history";
inline constexpr const char* kStartJob = "start_job";
inline constexpr const char* kFinishJob = "finish_job";
inline constexpr const char* kRenewJob = "renew_job";
inline constexpr const char* kJobRun = "job_run";
inline constexpr const char* kPauseJob = "pause_job";
inline constexpr const char* kRequestJob = "request_job";
inline constexpr const char* kJobStates = "job_states";
inline constexpr const char* kPing = "ping";
inline constexpr const char* kInsertCopied = "insert_copied";
inline constexpr const char* kExtend = "extend";
}  // namespace stmt

// Registers every statement above on a new connection (libpqxx prepares each on first use).
void prepare_statements(pqxx::connection& conn);

// Reads the sandbox columns of a row returned by the statements above.
Sandbox read_sandbox(const pqxx::row& row);
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
