// The migrations of the PostgreSQL store. Append new steps; never edit a step that has shipped.
#include "store/postgres/schema.hpp"

#include <pqxx/transaction>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "sql/postgres_queries.hpp"
#include "store/postgres/outbox_sql.hpp"
#include "store/postgres/pool_counts_sql.hpp"
#include "store/schema_steps.hpp"

namespace broker::pg {
namespace {

// Step i takes the schema from version i to version i + 1. Every new step is expand-only
// (schema_steps.hpp; tests/unit/store_schema_steps_test.cpp checks each).
const std::vector<SchemaStep>& migrations() {
    static const std::vector<SchemaStep> steps = {
        // 1: sandboxes, their history, and job state. Names and ids compare in byte order
        // (COLLATE "C"), as SQLite's BINARY collation does: the prefix range, list pages and
        // ORDER BY name then agree with the other stores whatever the database's locale is.
        {"sandboxes, their history and job state", R"sql(
CREATE TABLE sandboxes (
    sandbox_id            text COLLATE "C" NOT NULL PRIMARY KEY CHECK (sandbox_id <> ''),
    name                  text COLLATE "C" NOT NULL DEFAULT '',
    external_id           text   NOT NULL DEFAULT '',
    sfdc_account_id       text   NOT NULL DEFAULT '',
    status                text COLLATE "C" NOT NULL CHECK (status IN ('available', 'allocated',
                                  'pending_deletion', 'stale', 'deletion_failed', 'deleted')),
    allocated_to_track    text   NOT NULL DEFAULT '',
    track_name            text   NOT NULL DEFAULT '',
    idempotency_key       text COLLATE "C" NOT NULL DEFAULT '',
    allocated_at          bigint,
    expires_at            bigint,
    deletion_requested_at bigint,
    deletion_retry_count  integer NOT NULL DEFAULT 0,
    created_at            bigint NOT NULL,
    updated_at            bigint NOT NULL,
    version               bigint NOT NULL DEFAULT 1,
    last_seen_at          bigint,
    stale_since           bigint,
    -- The cleanup job's claim and retry schedule (bookkeeping, not part of the Sandbox).
    deletion_claimed_by   text   NOT NULL DEFAULT '',
    deletion_claim_until  bigint NOT NULL DEFAULT 0,
    next_deletion_at      bigint,
    last_deletion_error   text   NOT NULL DEFAULT ''
);

-- Allocation (status = 'available', optionally a name range) and counts by status.
CREATE INDEX sandboxes_status_name ON sandboxes (status, name);

-- One key never holds two sandboxes, whatever races the callers run.
CREATE UNIQUE INDEX sandboxes_allocated_key ON sandboxes (idempotency_key) WHERE status = 'allocated';

-- The expiry job: oldest allocations first.
CREATE INDEX sandboxes_allocated_at ON sandboxes (allocated_at) WHERE status = 'allocated';

-- The cleanup job: returned sandboxes oldest request first; failed ones whose retry is due.
CREATE INDEX sandboxes_pending_requested ON sandboxes (deletion_requested_at, sandbox_id)
    WHERE status = 'pending_deletion';
CREATE INDEX sandboxes_failed_next_attempt ON sandboxes (next_deletion_at, sandbox_id)
    WHERE status = 'deletion_failed';

-- Stale removal: stale longer than the grace period.
CREATE INDEX sandboxes_stale_since ON sandboxes (stale_since) WHERE status = 'stale';

-- No foreign key to sandboxes on purpose: the history outlives rows removed from the pool.
CREATE TABLE sandbox_events (
    id          bigserial PRIMARY KEY,
    sandbox_id  text COLLATE "C" NOT NULL,
    at          bigint NOT NULL,
    from_status text,
    to_status   text,
    actor       text   NOT NULL DEFAULT '',
    reason      text   NOT NULL DEFAULT ''
);
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox_id, id);
CREATE INDEX sandbox_events_at ON sandbox_events (at);

CREATE TABLE job_states (
    job              text COLLATE "C" NOT NULL PRIMARY KEY,
    paused           boolean NOT NULL DEFAULT false,
    run_requested    boolean NOT NULL DEFAULT false,
    holder           text    NOT NULL DEFAULT '',
    lease_until      bigint  NOT NULL DEFAULT 0,
    next_run_at      bigint  NOT NULL DEFAULT 0,
    last_started_at  bigint,
    last_finished_at bigint,
    last_result      text    NOT NULL DEFAULT '',
    last_ok          boolean NOT NULL DEFAULT true
);
)sql",
         true},
        // 2: runs asked for through the admin API, seen by every replica and worker, and the
        // running job's progress as its holder's heartbeat reports it.
        {"job runs asked for through the admin API, and a running job's progress", R"sql(
ALTER TABLE job_states ADD COLUMN progress text NOT NULL DEFAULT '';
CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    job          text COLLATE "C" NOT NULL,
    status       text   NOT NULL CHECK (status IN ('queued', 'running', 'finished')),
    requested_at bigint NOT NULL,
    started_at   bigint,
    finished_at  bigint,
    holder       text   NOT NULL DEFAULT '',
    progress     text   NOT NULL DEFAULT '',
    ok           boolean NOT NULL DEFAULT true,
    result       text   NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs (job, id);
)sql",
         true},
        // 3: idempotency keys belong to the participant that sent them: unique per participant
        // among allocated sandboxes (this index also answers "what does this participant hold").
        // The per-participant limit is kept by the slot each allocation takes, 0 up to the limit,
        // unique per participant among allocated sandboxes: two racing allocations of one
        // participant that both saw room take the same slot, and the index refuses the second.
        // Allocations made before this step have no slot (NULL, never a conflict).
        {"idempotency keys unique per participant, and the per-participant slot", R"sql(
ALTER TABLE sandboxes ADD COLUMN participant_slot integer;
DROP INDEX sandboxes_allocated_key;
CREATE UNIQUE INDEX sandboxes_allocated_participant_key ON sandboxes (allocated_to_track, idempotency_key)
    WHERE status = 'allocated';
CREATE UNIQUE INDEX sandboxes_allocated_participant_slot ON sandboxes (allocated_to_track, participant_slot)
    WHERE status = 'allocated';
)sql",
         false},
        // 4: what the operators' dashboard reads. Allocations by time (any status: a returned
        // sandbox keeps its allocated_at), covering what the window statistics read; and the
        // pool's time series, one row a minute.
        {"the allocation-time index and the pool's time series", R"sql(
CREATE INDEX sandboxes_allocation_window ON sandboxes (allocated_at)
    INCLUDE (status, deletion_requested_at, track_name) WHERE allocated_at IS NOT NULL;
CREATE TABLE pool_samples (
    at               bigint NOT NULL PRIMARY KEY,
    available        bigint NOT NULL DEFAULT 0,
    allocated        bigint NOT NULL DEFAULT 0,
    pending_deletion bigint NOT NULL DEFAULT 0,
    stale            bigint NOT NULL DEFAULT 0,
    deletion_failed  bigint NOT NULL DEFAULT 0,
    deleted          bigint NOT NULL DEFAULT 0,
    allocations      bigint NOT NULL DEFAULT 0
);
)sql",
         true},
        // 5: expiry follows each allocation's own expires_at, which a lease extension moves.
        {"index on the allocated sandboxes' expires_at (expiry honours extended leases)", R"sql(
CREATE INDEX sandboxes_allocated_expires ON sandboxes (expires_at) WHERE status = 'allocated';
)sql",
         true},
        // 6: reservations (sandboxes held back for one track during a window, with what was
        // charged to them) and track limits; the index counts what a track holds.
        {"reservations, track limits, and the allocated sandboxes of a track", R"sql(
CREATE TABLE reservations (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    track       text COLLATE "C" NOT NULL,
    name_prefix text COLLATE "C" NOT NULL DEFAULT '',
    count       bigint NOT NULL,
    used        bigint NOT NULL DEFAULT 0,
    starts_at   bigint NOT NULL,
    ends_at     bigint NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX reservations_window ON reservations (starts_at, ends_at);
CREATE TABLE track_limits (
    track      text COLLATE "C" NOT NULL PRIMARY KEY,
    max_active bigint NOT NULL
);
CREATE INDEX sandboxes_allocated_track ON sandboxes (track_name, expires_at) WHERE status = 'allocated';
)sql",
         true},
        // 7: counts by status kept by triggers, so stats never count rows (pool_counts_sql.hpp).
        {kPoolCountsSummary, kPoolCountsStep, true},
        // 8: lifecycle events written with each change and sequenced in commit order, and the
        // pool's low-watermark state.
        {kOutboxSchemaSummary, kOutboxSchemaSql, true},
        // 9: webhook subscriptions (with their cursor in the outbox) and their deliveries.
        {"webhook subscriptions and their deliveries", sql::kSchemaWebhooks, true},
    };
    return steps;
}

// The "compatible from" the schema records; nothing for one that predates the record.
std::optional<int> recorded(pqxx::transaction_base& tx) {
    if (!tx.exec("SELECT to_regclass('schema_compat') IS NOT NULL")[0][0].as<bool>()) return std::nullopt;
    const auto rows = tx.exec("SELECT compatible_from FROM schema_compat WHERE id = 1");
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<int>();
}

}  // namespace

int latest_schema_version() {
    return static_cast<int>(migrations().size());
}

int apply_migrations(pqxx::connection& conn) {
    pqxx::work tx(conn);
    // Keyed by the schema, so migrations of different schemas (one per test) do not queue.
    tx.exec(
        "SELECT pg_advisory_xact_lock(hashtext('sandbox-broker migrate'), "
        "hashtext(coalesce(current_schema(), '')))");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    const int current = tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
    const int latest = latest_schema_version();
    if (current > latest) {
        throw StoreUnavailable("PostgreSQL " +
                               describe_newer_store(schema_status_of(migrations(), current, recorded(tx))) +
                               "; this binary never downgrades a store");
    }
    for (int version = current; version < latest; ++version) {
        tx.exec(std::string(migrations()[static_cast<std::size_t>(version)].sql));
        tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", version + 1);
    }
    // Bookkeeping beside the version, not a step: the release before this one reads
    // schema_migrations only, so recording this changes nothing it sees.
    const int from = compatible_from(migrations(), latest);
    if (recorded(tx) != from) {
        tx.exec(
            "CREATE TABLE IF NOT EXISTS schema_compat (id integer PRIMARY KEY CHECK (id = 1), "
            "compatible_from integer NOT NULL)");
        tx.exec_params(
            "INSERT INTO schema_compat (id, compatible_from) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET compatible_from = excluded.compatible_from",
            from);
    }
    tx.commit();
    return current;
}

SchemaStatus schema_status(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const bool exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
    const int version =
        exists ? tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>() : 0;
    return schema_status_of(migrations(), version, recorded(tx));
}

std::span<const SchemaStep> schema_steps() {
    return migrations();
}

}  // namespace broker::pg
