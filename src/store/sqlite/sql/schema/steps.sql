-- The SQLite store's schema steps, in order: step N takes the schema from version N - 1 to N
-- (schema.cpp lists them with their summaries). Each runs as one script in the migration's
-- write transaction. Append new steps; never edit one that has shipped.

-- name: step_01_sandboxes
-- Sandboxes, their transition history, and the indexes allocation depends on.
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

-- name: step_02_job_state
-- What the background jobs need. Claims and retry schedule of deletions, the reason of
-- the last failure, one lease row per job. Partial indexes keep each job's pick an index
-- range of its own status (and leave counts by status to sandboxes_status_name). The
-- history is rebuilt so an event may have no `to_status`: the row was removed.
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

-- name: step_03_status_check
-- The same sandboxes table with its status CHECK written as equalities. SQLite codes
-- `status IN (...)` in a CHECK as a fresh ephemeral table filled on every row written
-- (six b-tree inserts, a page allocated and zeroed), which cost a status-changing UPDATE
-- about a fifth of its instructions; the OR chain costs a few comparisons. The rows,
-- columns (in their order) and indexes are as before.
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

-- name: step_04_job_runs
-- Runs asked for through the admin API, seen by the requests and the worker alike, and
-- the running job's progress as its holder's heartbeat reports it.
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

-- name: step_05_participant_key
-- Idempotency keys belong to the participant that sent them: unique per participant
-- among allocated sandboxes, so one participant's key never locks out another's. The
-- same index answers "what does this participant hold" for the per-participant limit.
DROP INDEX sandboxes_allocated_key;
CREATE UNIQUE INDEX sandboxes_allocated_participant_key ON sandboxes (allocated_to_track, idempotency_key)
    WHERE status = 'allocated';

-- name: step_06_dashboard
-- What the operators' dashboard reads. Allocations by time (any status: a returned
-- sandbox keeps its allocated_at), covering what the window statistics read; and the
-- pool's time series, one row a minute.
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

-- name: step_07_allocated_expires
-- Expiry follows each allocation's own expires_at, which a lease extension moves.
CREATE INDEX sandboxes_allocated_expires ON sandboxes (expires_at) WHERE status = 'allocated';

-- name: step_08_reservations
-- Reservations (sandboxes held back for one track during a window, with what was
-- charged to them) and track limits; the index counts what a track holds.
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

-- name: step_09_pool_counts
-- Counts by status kept by triggers, so stats never count rows (read by read_pool_counts).
-- One row per status, created for all six so the triggers only ever UPDATE. The triggers run
-- inside the statement that changes a sandbox, so every writer (this binary, an older one, a
-- copy, a hand-run statement) keeps the counts true in its own transaction. The step runs in
-- the migration's write transaction: nothing writes between the count and the triggers.
CREATE TABLE pool_counts (
    status TEXT    NOT NULL PRIMARY KEY,
    n      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO pool_counts (status, n) VALUES
    ('available', 0), ('allocated', 0), ('pending_deletion', 0),
    ('stale', 0), ('deletion_failed', 0), ('deleted', 0);
UPDATE pool_counts SET n = (SELECT count(*) FROM sandboxes WHERE sandboxes.status = pool_counts.status);
CREATE TRIGGER pool_counts_insert AFTER INSERT ON sandboxes BEGIN
    UPDATE pool_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER pool_counts_delete AFTER DELETE ON sandboxes BEGIN
    UPDATE pool_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER pool_counts_status AFTER UPDATE OF status ON sandboxes
WHEN OLD.status <> NEW.status BEGIN
    UPDATE pool_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE pool_counts SET n = n + 1 WHERE status = NEW.status;
END;

-- name: step_10_outbox
-- The outbox: each change's event, written in the change's transaction (AUTOINCREMENT ids
-- never come back, so a reader resuming after id k is never shown a reused one), and the
-- pool's low-watermark state (pool.low / pool.recovered once per crossing).
CREATE TABLE outbox_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    sandbox_id TEXT    NOT NULL DEFAULT '',
    track      TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL DEFAULT '{}'
);
CREATE TABLE pool_alert (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    low        INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO pool_alert (id, low, changed_at) VALUES (1, 0, 0);

-- name: step_11_webhooks
-- Webhook subscriptions (with their cursor in the outbox and failure record) and their
-- deliveries. Delivery ids never come back after a removal (AUTOINCREMENT): they name a
-- delivery in the admin API.
CREATE TABLE webhook_subscriptions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    url                TEXT    NOT NULL,
    event_types        TEXT    NOT NULL,
    description        TEXT    NOT NULL DEFAULT '',
    secret             TEXT    NOT NULL,
    enabled            INTEGER NOT NULL DEFAULT 1,
    disabled_reason    TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    disabled_at        INTEGER,
    event_cursor       INTEGER NOT NULL DEFAULT 0,
    failing_since      INTEGER,
    consecutive_failed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  TEXT    NOT NULL,
    event_id         INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    sandbox_id       TEXT    NOT NULL DEFAULT '',
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_http_status INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    last_latency_ms  INTEGER,
    claim_owner      TEXT    NOT NULL DEFAULT '',
    claim_until      INTEGER NOT NULL DEFAULT 0
);
-- The admin API's pages of one subscription's deliveries.
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);
-- Claiming: a subscription's pending deliveries in order, and the one before in a sandbox.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending_sandbox ON webhook_deliveries (subscription_id, sandbox_id, id)
    WHERE status = 'pending';
-- Pruning finished deliveries by age.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (last_attempt_at) WHERE status <> 'pending';

-- name: step_12_sync_pass
-- The sync pass that last listed a sandbox: a sync reads the provider's list in parts and
-- stamps each listed row with its pass, then marks stale the available rows it did not stamp,
-- so the list never has to be held whole. NULL: no sync has listed the row since this step.
ALTER TABLE sandboxes ADD COLUMN sync_pass INTEGER;
