// The migrations of the PostgreSQL store. Append new steps; never edit a step that has shipped.
#include "store/postgres/schema.hpp"

#include <pqxx/transaction>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "sql/postgres_schema.hpp"
#include "store/schema_steps.hpp"

namespace broker::pg {
namespace {

// Step i takes the schema from version i to version i + 1. Every new step is expand-only
// (schema_steps.hpp; tests/unit/store_schema_steps_test.cpp checks each).
const std::vector<SchemaStep>& migrations() {
    // The SQL of each step is in sql/schema/steps.sql, where the comments say why.
    static const std::vector<SchemaStep> steps = {
        {"sandboxes, their history and job state", schema_sql::kStep01Sandboxes, true},
        {"job runs asked for through the admin API, and a running job's progress", schema_sql::kStep02JobRuns,
         true},
        {"idempotency keys unique per participant, and the per-participant slot",
         schema_sql::kStep03ParticipantSlot, false},
        {"the allocation-time index and the pool's time series", schema_sql::kStep04Dashboard, true},
        {"index on the allocated sandboxes' expires_at (expiry honours extended leases)",
         schema_sql::kStep05AllocatedExpires, true},
        {"reservations, track limits, and the allocated sandboxes of a track",
         schema_sql::kStep06Reservations, true},
        {"counts by status kept by triggers in 16 slots per status (pool_counts)",
         schema_sql::kStep07PoolCounts, true},
        // 8: lifecycle events written with each change and sequenced in commit order, and the
        // pool's low-watermark state.
        {"the outbox (events written with each change, sequenced in commit order) and the pool's "
         "low-watermark state",
         schema_sql::kStep08Outbox, true},
        // 9: webhook subscriptions (with their cursor in the outbox) and their deliveries.
        {"webhook subscriptions and their deliveries", schema_sql::kStep09Webhooks, true},
        // 10: the sandboxes each running sync pass has listed (stale marking of a streamed list).
        {"the sandboxes each running sync pass has listed", schema_sql::kStep10SyncListed, true},
        // 11: the pool_counts trigger functions name their schema's table instead of setting
        // search_path on every call (the same effect).
        {"the pool_counts trigger functions name their schema's table (no search_path set per call)",
         schema_sql::kStep11PoolCountsQualified, true},
    };
    return steps;
}

// A statement of sql/schema/*.sql as libpqxx takes it.
std::string text(std::string_view statement) {
    return std::string(statement);
}

// The "compatible from" the schema records; nothing for one that predates the record.
std::optional<int> recorded(pqxx::transaction_base& tx) {
    if (!tx.exec(text(schema_sql::kCompatTableExists))[0][0].as<bool>()) return std::nullopt;
    const auto rows = tx.exec(text(schema_sql::kReadCompatibleFrom));
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<int>();
}

}  // namespace

int latest_schema_version() {
    return static_cast<int>(migrations().size());
}

int apply_migrations(pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec(text(schema_sql::kMigrationLock));
    tx.exec(text(schema_sql::kCreateMigrationsTable));
    const int current = tx.exec(text(schema_sql::kReadVersion))[0][0].as<int>();
    const int latest = latest_schema_version();
    if (current > latest) {
        throw StoreUnavailable("PostgreSQL " +
                               describe_newer_store(schema_status_of(migrations(), current, recorded(tx))) +
                               "; this binary never downgrades a store");
    }
    for (int version = current; version < latest; ++version) {
        tx.exec(text(migrations()[static_cast<std::size_t>(version)].sql));
        tx.exec_params(text(schema_sql::kRecordStep), version + 1);
    }
    // Bookkeeping beside the version, not a step: the release before this one reads
    // schema_migrations only, so recording this changes nothing it sees.
    const int from = compatible_from(migrations(), latest);
    if (recorded(tx) != from) {
        tx.exec(text(schema_sql::kCreateCompatTable));
        tx.exec_params(text(schema_sql::kRecordCompatibleFrom), from);
    }
    tx.commit();
    return current;
}

SchemaStatus schema_status(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const bool exists = tx.exec(text(schema_sql::kMigrationsTableExists))[0][0].as<bool>();
    const int version = exists ? tx.exec(text(schema_sql::kReadVersion))[0][0].as<int>() : 0;
    return schema_status_of(migrations(), version, recorded(tx));
}

std::span<const SchemaStep> schema_steps() {
    return migrations();
}

}  // namespace broker::pg
