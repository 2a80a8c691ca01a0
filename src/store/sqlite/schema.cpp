// The migrations of the SQLite store. Append new steps; never edit a step that has shipped.
#include "store/sqlite/schema.hpp"

#include <string>
#include <vector>

#include "core/errors.hpp"

namespace broker::sqlite {
namespace {

// Step i takes the schema from version i to version i + 1.
const std::vector<std::string>& migrations() {
    static const std::vector<std::string> steps = {
        // 1: sandboxes, their transition history, and the indexes allocation depends on.
        R"sql(
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
    };
    return steps;
}

int user_version(Connection& conn) {
    auto q = conn.query("PRAGMA user_version");
    return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

}  // namespace

int latest_schema_version() {
    return static_cast<int>(migrations().size());
}

void apply_migrations(Connection& conn) {
    const int current = user_version(conn);
    const int latest = latest_schema_version();
    if (current > latest) {
        throw StoreUnavailable("SQLite schema version " + std::to_string(current) +
                               " is newer than this binary understands (" + std::to_string(latest) + ")");
    }
    for (int version = current; version < latest; ++version) {
        conn.exec(migrations()[static_cast<std::size_t>(version)]);
    }
    // user_version lives in the file header and is part of the transaction like any page.
    if (current != latest) conn.exec("PRAGMA user_version = " + std::to_string(latest));
}

}  // namespace broker::sqlite
