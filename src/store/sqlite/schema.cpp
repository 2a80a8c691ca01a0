// The migrations of the SQLite store. Append new steps; never edit a step that has shipped.
#include "store/sqlite/schema.hpp"

#include <string>
#include <vector>

#include "core/errors.hpp"
#include "store/schema_steps.hpp"
#include "store/sqlite/outbox_sql.hpp"
#include "store/sqlite/pool_counts_sql.hpp"
#include "store/sqlite/webhook_sql.hpp"

namespace broker::sqlite {
namespace {

// Step i takes the schema from version i to version i + 1. Every new step is expand-only
// (schema_steps.hpp; tests/unit/store_schema_steps_test.cpp checks each).
const std::vector<SchemaStep>& migrations() {
    static const std::vector<SchemaStep> steps = {
        // 1: sandboxes, their transition history, and the indexes allocation depends on.
        {"sandboxes, their history and the allocation indexes", R"sql(
CREATE TABLE sandboxes (
    sandbox_id            TEXT    NOT NULL PRIMARY KEY CHECK (sandbox_id <> ''),
    name                  TEXT    NOT NULL DEFAULT '',
    external_id           TEXT    NOT NULL DEFAULT '',
    sfdc_account_id       TEXT    NOT NULL DEFAULT '',
    status                TEXT    NOT NULL CHECK (status IN ('available', 'allocated', 'pending_deletion',
                                                             'stale', 'deletion_failed', 'deleted')),
    allocated_to_track    TEXT    NOT NULL DEFAULT '',
    track_name            TEXT    NOT NULL DEFAULT '',
    idempotency_key       TEXT    NOT NULL DEFAULT '',
    allocated_at          INTEGER,
    expires_at            INTEGER,
    deletion_requested_at INTEGER,
    deletion_retry_count  INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL DEFAULT 1,
    last_seen_at          INTEGER,
    stale_since           INTEGER
) WITHOUT ROWID;

-- Allocation (status = 'available', optionally a name range) and counts by status.
CREATE INDEX sandboxes_status_name ON sandboxes (status, name);

-- One key never holds two sandboxes, whatever races the callers run.
CREATE UNIQUE INDEX sandboxes_allocated_key ON sandboxes (idempotency_key) WHERE status = 'allocated';

-- No foreign key to sandboxes on purpose: the history outlives rows removed as stale.
CREATE TABLE sandbox_events (
    id          INTEGER PRIMARY KEY,
    sandbox_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox_id, id);
)sql",
         true},
        // 2: what the background jobs need. Claims and retry schedule of deletions, the reason of
        // the last failure, one lease row per job. Partial indexes keep each job's pick an index
        // range of its own status (and leave counts by status to sandboxes_status_name). The
        // history is rebuilt so an event may have no `to_status`: the row was removed.
        {"deletion claims and retry schedule, job leases; the history rebuilt so an event may have no "
         "to_status",
         R"sql(
ALTER TABLE sandboxes ADD COLUMN claim_owner     TEXT    NOT NULL DEFAULT '';
ALTER TABLE sandboxes ADD COLUMN claim_until     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE sandboxes ADD COLUMN last_error      TEXT    NOT NULL DEFAULT '';

-- Expiry: allocations oldest first.
CREATE INDEX sandboxes_allocated_at ON sandboxes (allocated_at) WHERE status = 'allocated';
-- Claiming: returned sandboxes oldest first; failed ones whose next attempt is due.
CREATE INDEX sandboxes_pending_requested ON sandboxes (deletion_requested_at) WHERE status = 'pending_deletion';
CREATE INDEX sandboxes_failed_next_attempt ON sandboxes (next_attempt_at) WHERE status = 'deletion_failed';
-- Stale removal: stale longer than the grace period.
CREATE INDEX sandboxes_stale_since ON sandboxes (stale_since) WHERE status = 'stale';

CREATE TABLE sandbox_events_v2 (
    id          INTEGER PRIMARY KEY,
    sandbox_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    actor       TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT ''
);
INSERT INTO sandbox_events_v2 (id, sandbox_id, at, from_status, to_status, actor, reason)
    SELECT id, sandbox_id, at, from_status, to_status, actor, reason FROM sandbox_events;
DROP TABLE sandbox_events;
ALTER TABLE sandbox_events_v2 RENAME TO sandbox_events;
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox_id, id);
-- History retention deletes by age.
CREATE INDEX sandbox_events_at ON sandbox_events (at);

CREATE TABLE job_state (
    job             TEXT    NOT NULL PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    run_requested   INTEGER NOT NULL DEFAULT 0,
    holder          TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    next_run_at     INTEGER NOT NULL DEFAULT 0,
    last_started_at INTEGER,
    last_finished_at INTEGER,
    last_result     TEXT    NOT NULL DEFAULT '',
    last_ok         INTEGER NOT NULL DEFAULT 1,
    updated_at      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql",
         false},
        // 3: the same sandboxes table with its status CHECK written as equalities. SQLite codes
        // `status IN (...)` in a CHECK as a fresh ephemeral table filled on every row written
        // (six b-tree inserts, a page allocated and zeroed), which cost a status-changing UPDATE
        // about a fifth of its instructions; the OR chain costs a few comparisons. The rows,
        // columns (in their order) and indexes are as before.
        {"the sandboxes table rebuilt with its status CHECK as equalities", R"sql(
CREATE TABLE sandboxes_v3 (
    sandbox_id            TEXT    NOT NULL PRIMARY KEY CHECK (sandbox_id <> ''),
    name                  TEXT    NOT NULL DEFAULT '',
    external_id           TEXT    NOT NULL DEFAULT '',
    sfdc_account_id       TEXT    NOT NULL DEFAULT '',
    status                TEXT    NOT NULL CHECK (status = 'available' OR status = 'allocated'
                                                  OR status = 'pending_deletion' OR status = 'stale'
                                                  OR status = 'deletion_failed' OR status = 'deleted'),
    allocated_to_track    TEXT    NOT NULL DEFAULT '',
    track_name            TEXT    NOT NULL DEFAULT '',
    idempotency_key       TEXT    NOT NULL DEFAULT '',
    allocated_at          INTEGER,
    expires_at            INTEGER,
    deletion_requested_at INTEGER,
    deletion_retry_count  INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    version               INTEGER NOT NULL DEFAULT 1,
    last_seen_at          INTEGER,
    stale_since           INTEGER,
    claim_owner           TEXT    NOT NULL DEFAULT '',
    claim_until           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at       INTEGER,
    last_error            TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO sandboxes_v3 (sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track,
                          track_name, idempotency_key, allocated_at, expires_at, deletion_requested_at,
                          deletion_retry_count, created_at, updated_at, version, last_seen_at, stale_since,
                          claim_owner, claim_until, next_attempt_at, last_error)
    SELECT sandbox_id, name, external_id, sfdc_account_id, status, allocated_to_track, track_name,
           idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count,
           created_at, updated_at, version, last_seen_at, stale_since, claim_owner, claim_until,
           next_attempt_at, last_error
    FROM sandboxes;
DROP TABLE sandboxes;
ALTER TABLE sandboxes_v3 RENAME TO sandboxes;
CREATE INDEX sandboxes_status_name ON sandboxes (status, name);
CREATE UNIQUE INDEX sandboxes_allocated_key ON sandboxes (idempotency_key) WHERE status = 'allocated';
CREATE INDEX sandboxes_allocated_at ON sandboxes (allocated_at) WHERE status = 'allocated';
CREATE INDEX sandboxes_pending_requested ON sandboxes (deletion_requested_at) WHERE status = 'pending_deletion';
CREATE INDEX sandboxes_failed_next_attempt ON sandboxes (next_attempt_at) WHERE status = 'deletion_failed';
CREATE INDEX sandboxes_stale_since ON sandboxes (stale_since) WHERE status = 'stale';
)sql",
         false},
        // 4: runs asked for through the admin API, seen by the requests and the worker alike, and
        // the running job's progress as its holder's heartbeat reports it.
        {"job runs asked for through the admin API, and a running job's progress", R"sql(
ALTER TABLE job_state ADD COLUMN progress TEXT NOT NULL DEFAULT '';
CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    job          TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status = 'queued' OR status = 'running' OR status = 'finished'),
    requested_at INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    holder       TEXT    NOT NULL DEFAULT '',
    progress     TEXT    NOT NULL DEFAULT '',
    ok           INTEGER NOT NULL DEFAULT 1,
    result       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs (job, id);
)sql",
         true},
        // 5: idempotency keys belong to the participant that sent them: unique per participant
        // among allocated sandboxes, so one participant's key never locks out another's. The
        // same index answers "what does this participant hold" for the per-participant limit.
        {"idempotency keys unique per participant (the index on the key alone replaced)", R"sql(
DROP INDEX sandboxes_allocated_key;
CREATE UNIQUE INDEX sandboxes_allocated_participant_key ON sandboxes (allocated_to_track, idempotency_key)
    WHERE status = 'allocated';
)sql",
         false},
        // 6: what the operators' dashboard reads. Allocations by time (any status: a returned
        // sandbox keeps its allocated_at), covering what the window statistics read; and the
        // pool's time series, one row a minute.
        {"the allocation-time index and the pool's time series", R"sql(
CREATE INDEX sandboxes_allocation_window ON sandboxes (allocated_at, status, deletion_requested_at, track_name)
    WHERE allocated_at IS NOT NULL;
CREATE TABLE pool_samples (
    at               INTEGER NOT NULL PRIMARY KEY,
    available        INTEGER NOT NULL DEFAULT 0,
    allocated        INTEGER NOT NULL DEFAULT 0,
    pending_deletion INTEGER NOT NULL DEFAULT 0,
    stale            INTEGER NOT NULL DEFAULT 0,
    deletion_failed  INTEGER NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0,
    allocations      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql",
         true},
        // 7: expiry follows each allocation's own expires_at, which a lease extension moves.
        {"index on the allocated sandboxes' expires_at (expiry honours extended leases)", R"sql(
CREATE INDEX sandboxes_allocated_expires ON sandboxes (expires_at) WHERE status = 'allocated';
)sql",
         true},
        // 8: reservations (sandboxes held back for one track during a window, with what was
        // charged to them) and track limits; the index counts what a track holds.
        {"reservations, track limits, and the allocated sandboxes of a track", R"sql(
CREATE TABLE reservations (
    id          TEXT    NOT NULL PRIMARY KEY,
    track       TEXT    NOT NULL,
    name_prefix TEXT    NOT NULL DEFAULT '',
    count       INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE track_limits (
    track      TEXT    NOT NULL PRIMARY KEY,
    max_active INTEGER NOT NULL
);
CREATE INDEX sandboxes_allocated_track ON sandboxes (track_name, expires_at) WHERE status = 'allocated';
)sql",
         true},
        // 9: counts by status kept by triggers, so stats never count rows (pool_counts_sql.hpp).
        {kPoolCountsSummary, kPoolCountsStep, true},
        // 10: lifecycle events written with each change, and the pool's low-watermark state.
        {kOutboxSchemaSummary, kOutboxSchemaSql, true},
        // 11: webhook subscriptions, their cursor in the outbox, and their deliveries (webhook_sql.hpp).
        {"webhook subscriptions and their deliveries", kWebhookSchemaSql, true},
    };
    return steps;
}

int user_version(Connection& conn) {
    auto q = conn.query("PRAGMA user_version");
    return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

constexpr std::string_view kCompatTable =
    "CREATE TABLE IF NOT EXISTS schema_compat (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "compatible_from INTEGER NOT NULL)";

// The "compatible from" the store records; nothing for a store that predates the record.
std::optional<int> recorded_compatible_from(Connection& conn) {
    auto table = conn.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_compat'");
    if (!table.step()) return std::nullopt;
    auto q = conn.query("SELECT compatible_from FROM schema_compat WHERE id = 1");
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
        conn.exec(std::string(kCompatTable));
        conn.query(
                "INSERT INTO schema_compat (id, compatible_from) VALUES (1, ?1) "
                "ON CONFLICT (id) DO UPDATE SET compatible_from = excluded.compatible_from")
            .bind(1, static_cast<std::int64_t>(from))
            .run();
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
