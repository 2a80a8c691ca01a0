// The migrations of the SQLite store. Append new steps; never edit a step that has shipped.
#include "store/sqlite/schema.hpp"

#include <string>
#include <vector>

#include "core/errors.hpp"
#include "sql/sqlite_schema.hpp"
#include "store/schema_steps.hpp"

namespace broker::sqlite {
namespace {

// Step i takes the schema from version i to version i + 1. Every new step is expand-only
// (schema_steps.hpp; tests/unit/store_schema_steps_test.cpp checks each).
const std::vector<SchemaStep>& migrations() {
    // The SQL of each step is in sql/schema/steps.sql, where the comments say why.
    static const std::vector<SchemaStep> steps = {
        {"sandboxes, their history and the allocation indexes", schema_sql::kStep01Sandboxes, true},
        {"deletion claims and retry schedule, job leases; the history rebuilt so an event may have no "
         "to_status",
         schema_sql::kStep02JobState, false},
        {"the sandboxes table rebuilt with its status CHECK as equalities", schema_sql::kStep03StatusCheck,
         false},
        {"job runs asked for through the admin API, and a running job's progress", schema_sql::kStep04JobRuns,
         true},
        {"idempotency keys unique per participant (the index on the key alone replaced)",
         schema_sql::kStep05ParticipantKey, false},
        {"the allocation-time index and the pool's time series", schema_sql::kStep06Dashboard, true},
        {"index on the allocated sandboxes' expires_at (expiry honours extended leases)",
         schema_sql::kStep07AllocatedExpires, true},
        {"reservations, track limits, and the allocated sandboxes of a track",
         schema_sql::kStep08Reservations, true},
        {"counts by status kept by triggers (pool_counts)", schema_sql::kStep09PoolCounts, true},
        // 10: lifecycle events written with each change, and the pool's low-watermark state.
        {"the outbox (events written with each change) and the pool's low-watermark state",
         schema_sql::kStep10Outbox, true},
        // 11: webhook subscriptions, their cursor in the outbox, and their deliveries.
        {"webhook subscriptions and their deliveries", schema_sql::kStep11Webhooks, true},
        // 12: the sync pass that last listed a sandbox (stale marking of a streamed list).
        {"the sync pass that last listed each sandbox", schema_sql::kStep12SyncPass, true},
    };
    return steps;
}

int user_version(Connection& conn) {
    auto q = conn.query("PRAGMA user_version");
    return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

// The "compatible from" the store records; nothing for a store that predates the record.
std::optional<int> recorded_compatible_from(Connection& conn) {
    auto table = conn.query(schema_sql::kCompatTableExists);
    if (!table.step()) return std::nullopt;
    auto q = conn.query(schema_sql::kReadCompatibleFrom);
    if (!q.step()) return std::nullopt;
    return static_cast<int>(q.integer(0));
}

}  // namespace

int latest_schema_version() {
    return static_cast<int>(migrations().size());
}

int apply_migrations(Connection& conn) {
    const int current = user_version(conn);
    const int latest = latest_schema_version();
    if (current > latest) {
        throw StoreUnavailable(
            "SQLite " +
            describe_newer_store(schema_status_of(migrations(), current, recorded_compatible_from(conn))) +
            "; this binary never downgrades a store");
    }
    for (int version = current; version < latest; ++version) {
        conn.exec(std::string(migrations()[static_cast<std::size_t>(version)].sql));
    }
    // user_version lives in the file header and is part of the transaction like any page.
    if (current != latest) conn.exec("PRAGMA user_version = " + std::to_string(latest));
    const int from = compatible_from(migrations(), latest);
    if (recorded_compatible_from(conn) != from) {
        // Bookkeeping beside the version, not a step: the release before this one reads
        // user_version only, so recording this changes nothing it sees.
        conn.exec(std::string(schema_sql::kCreateCompatTable));
        conn.query(schema_sql::kRecordCompatibleFrom).bind(1, static_cast<std::int64_t>(from)).run();
    }
    return current;
}

SchemaStatus schema_status(Connection& conn) {
    return schema_status_of(migrations(), user_version(conn), recorded_compatible_from(conn));
}

std::span<const SchemaStep> schema_steps() {
    return migrations();
}

}  // namespace broker::sqlite
