-- The PostgreSQL store's schema steps, in order: step N takes the schema from version N - 1
-- to N (schema.cpp lists them with their summaries). Each runs as one script in the
-- migration's transaction. Append new steps; never edit one that has shipped.

-- name: step_01_sandboxes
-- Sandboxes, their history, and job state. Names and ids compare in byte order
-- (COLLATE "C"), as SQLite's BINARY collation does: the prefix range, list pages and
-- ORDER BY name then agree with the other stores whatever the database's locale is.
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

-- name: step_02_job_runs
-- Runs asked for through the admin API, seen by every replica and worker, and the
-- running job's progress as its holder's heartbeat reports it.
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

-- name: step_03_participant_slot
-- Idempotency keys belong to the participant that sent them: unique per participant
-- among allocated sandboxes (this index also answers "what does this participant hold").
-- The per-participant limit is kept by the slot each allocation takes, 0 up to the limit,
-- unique per participant among allocated sandboxes: two racing allocations of one
-- participant that both saw room take the same slot, and the index refuses the second.
-- Allocations made before this step have no slot (NULL, never a conflict).
ALTER TABLE sandboxes ADD COLUMN participant_slot integer;
DROP INDEX sandboxes_allocated_key;
CREATE UNIQUE INDEX sandboxes_allocated_participant_key ON sandboxes (allocated_to_track, idempotency_key)
    WHERE status = 'allocated';
CREATE UNIQUE INDEX sandboxes_allocated_participant_slot ON sandboxes (allocated_to_track, participant_slot)
    WHERE status = 'allocated';

-- name: step_04_dashboard
-- What the operators' dashboard reads. Allocations by time (any status: a returned
-- sandbox keeps its allocated_at), covering what the window statistics read; and the
-- pool's time series, one row a minute.
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

-- name: step_05_allocated_expires
-- Expiry follows each allocation's own expires_at, which a lease extension moves.
CREATE INDEX sandboxes_allocated_expires ON sandboxes (expires_at) WHERE status = 'allocated';

-- name: step_06_reservations
-- Reservations (sandboxes held back for one track during a window, with what was
-- charged to them) and track limits; the index counts what a track holds.
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

-- name: step_07_pool_counts
-- Counts by status kept by triggers, so stats never count rows (read by read_pool_counts).
-- Every status has 16 slots; a statement's changes go to the slot of its connection (backend
-- pid mod 16), so writers on different connections rarely wait for one another's counter row,
-- and a read sums the slots (96 rows). The triggers are statement-level with transition
-- tables: one counter update per status a statement changes, however many rows it changes (a
-- row-level trigger would update the same counter row once per row, and PostgreSQL's cost of
-- updating one row many times in a transaction grows with the square of the count: 20 000
-- row changes in one transaction took 86 s instead of 1.3 s). They run in the writing
-- statement's transaction, so every writer (this binary, an older one, a copy, a hand-run
-- statement) keeps the counts true. UPDATE statements that change no status (a lease
-- extension, a claim) find nothing to add and write nothing. The triggers are created before
-- the count: they take the table's SHARE ROW EXCLUSIVE lock, so no writer commits between the
-- count and them. The functions keep the schema they were created in (SET search_path FROM
-- CURRENT): a writer whose search_path differs still finds this schema's pool_counts.
CREATE TABLE pool_counts (
    status text COLLATE "C" NOT NULL,
    slot   integer NOT NULL,
    n      bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (status, slot)
);
CREATE FUNCTION pool_counts_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
    UPDATE pool_counts AS c SET n = c.n + d.k
      FROM (SELECT status, count(*) AS k FROM pool_counts_new GROUP BY status) AS d
     WHERE c.status = d.status AND c.slot = pg_backend_pid() % 16;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION pool_counts_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
    UPDATE pool_counts AS c SET n = c.n - d.k
      FROM (SELECT status, count(*) AS k FROM pool_counts_old GROUP BY status) AS d
     WHERE c.status = d.status AND c.slot = pg_backend_pid() % 16;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION pool_counts_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
    UPDATE pool_counts AS c SET n = c.n + d.k
      FROM (SELECT status, sum(k) AS k
              FROM (SELECT status, count(*) AS k FROM pool_counts_new GROUP BY status
                    UNION ALL
                    SELECT status, -count(*) AS k FROM pool_counts_old GROUP BY status) AS x
             GROUP BY status
            HAVING sum(k) <> 0) AS d
     WHERE c.status = d.status AND c.slot = pg_backend_pid() % 16;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER pool_counts_insert AFTER INSERT ON sandboxes
    REFERENCING NEW TABLE AS pool_counts_new
    FOR EACH STATEMENT EXECUTE FUNCTION pool_counts_inserted();
CREATE TRIGGER pool_counts_delete AFTER DELETE ON sandboxes
    REFERENCING OLD TABLE AS pool_counts_old
    FOR EACH STATEMENT EXECUTE FUNCTION pool_counts_deleted();
CREATE TRIGGER pool_counts_update AFTER UPDATE ON sandboxes
    REFERENCING OLD TABLE AS pool_counts_old NEW TABLE AS pool_counts_new
    FOR EACH STATEMENT EXECUTE FUNCTION pool_counts_updated();
INSERT INTO pool_counts (status, slot, n)
    SELECT st, sl, 0
      FROM unnest(ARRAY['available', 'allocated', 'pending_deletion', 'stale', 'deletion_failed',
                        'deleted']) AS st, generate_series(0, 15) AS sl;
UPDATE pool_counts SET n = c.k
  FROM (SELECT status, count(*) AS k FROM sandboxes GROUP BY status) AS c
 WHERE pool_counts.status = c.status AND pool_counts.slot = 0;

-- name: step_08_outbox
-- Lifecycle events written with each change and sequenced in commit order, and the pool's
-- low-watermark state. Concurrent transactions commit out of the order they took sequence
-- numbers in, so an id taken inside the change could become visible after a higher one a
-- reader already passed. The change therefore writes its event to outbox_pending (a trigger on
-- the history, the one place every transition is recorded), and a sequencer (outbox_ops: one
-- at a time under an advisory lock, run by whoever reads) moves the committed pending rows into
-- outbox_events with the next final ids, in one transaction: final ids become visible in
-- increasing order. The trigger runs once per statement over the history rows it inserted (a
-- sync of 200 000 sandboxes is one INSERT ... SELECT), after the statement, so it sees each
-- sandbox as the change left it. `broker.events` = off (the session's EVENTS_ENABLED) writes
-- nothing; `broker.outbox_fail` = on is the tests' injected failure right after the event.
CREATE TABLE outbox_pending (
    id                    bigserial PRIMARY KEY,
    at                    bigint NOT NULL,
    type                  text   NOT NULL DEFAULT '',
    data                  text   NOT NULL DEFAULT '',
    sandbox_id            text COLLATE "C" NOT NULL DEFAULT '',
    from_status           text,
    to_status             text,
    actor                 text   NOT NULL DEFAULT '',
    reason                text   NOT NULL DEFAULT '',
    name                  text   NOT NULL DEFAULT '',
    external_id           text   NOT NULL DEFAULT '',
    sfdc_account_id       text   NOT NULL DEFAULT '',
    status                text   NOT NULL DEFAULT '',
    participant           text   NOT NULL DEFAULT '',
    track                 text   NOT NULL DEFAULT '',
    allocated_at          bigint,
    expires_at            bigint,
    deletion_requested_at bigint,
    deletion_retry_count  integer NOT NULL DEFAULT 0
);
CREATE TABLE outbox_events (
    id         bigint PRIMARY KEY,
    type       text   NOT NULL,
    at         bigint NOT NULL,
    sandbox_id text COLLATE "C" NOT NULL DEFAULT '',
    track      text   NOT NULL DEFAULT '',
    data       text   NOT NULL DEFAULT '{}'
);
CREATE TABLE outbox_state (
    id              integer PRIMARY KEY CHECK (id = 1),
    last_id         bigint  NOT NULL DEFAULT 0,
    pool_low        boolean NOT NULL DEFAULT false,
    pool_changed_at bigint  NOT NULL DEFAULT 0
);
INSERT INTO outbox_state (id) VALUES (1);
CREATE FUNCTION broker_outbox_transitions() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    written bigint;
BEGIN
    IF coalesce(current_setting('broker.events', true), '') = 'off' THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox_pending (at, sandbox_id, from_status, to_status, actor, reason, name, external_id,
                                sfdc_account_id, status, participant, track, allocated_at, expires_at,
                                deletion_requested_at, deletion_retry_count)
        SELECT e.at, e.sandbox_id, e.from_status, e.to_status, e.actor, e.reason, s.name, s.external_id,
               s.sfdc_account_id, s.status, s.allocated_to_track, s.track_name, s.allocated_at, s.expires_at,
               s.deletion_requested_at, s.deletion_retry_count
        FROM new_events e JOIN sandboxes s ON s.sandbox_id = e.sandbox_id
        WHERE e.to_status IS NOT NULL
        ORDER BY e.id;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 AND coalesce(current_setting('broker.outbox_fail', true), '') = 'on' THEN
        RAISE EXCEPTION 'injected failure after the outbox event was written';
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER sandbox_events_outbox AFTER INSERT ON sandbox_events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION broker_outbox_transitions();

-- name: step_09_webhooks
-- Webhook subscriptions, with their cursor in the outbox and
-- failure record, and their deliveries. Delivery ids come from a sequence: they increase and
-- never come back after a removal (they name a delivery in the admin API).
CREATE TABLE webhook_subscriptions (
    id                 text COLLATE "C" NOT NULL PRIMARY KEY,
    url                text    NOT NULL,
    event_types        text    NOT NULL,
    description        text    NOT NULL DEFAULT '',
    secret             text    NOT NULL,
    enabled            boolean NOT NULL DEFAULT true,
    disabled_reason    text    NOT NULL DEFAULT '',
    created_at         bigint  NOT NULL,
    disabled_at        bigint,
    event_cursor       bigint  NOT NULL DEFAULT 0,
    failing_since      bigint,
    consecutive_failed bigint  NOT NULL DEFAULT 0
);
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    subscription_id  text COLLATE "C" NOT NULL,
    event_id         bigint NOT NULL,
    event_type       text   NOT NULL,
    sandbox_id       text COLLATE "C" NOT NULL DEFAULT '',
    payload          text   NOT NULL,
    status           text   NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         bigint NOT NULL DEFAULT 0,
    created_at       bigint NOT NULL,
    next_attempt_at  bigint NOT NULL,
    last_attempt_at  bigint,
    last_http_status integer,
    last_error       text   NOT NULL DEFAULT '',
    last_latency_ms  bigint,
    claim_owner      text   NOT NULL DEFAULT '',
    claim_until      bigint NOT NULL DEFAULT 0
);
-- The admin API's pages of one subscription's deliveries.
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);
-- Claiming: a subscription's pending deliveries in order, and the one before in a sandbox.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending_sandbox ON webhook_deliveries (subscription_id, sandbox_id, id)
    WHERE status = 'pending';
-- Pruning finished deliveries by age.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (last_attempt_at) WHERE status <> 'pending';

-- name: step_10_sync_listed
-- The sandboxes each running sync pass has listed: a sync reads the provider's list in parts,
-- records each part's ids here under its pass, and at the end marks stale the available
-- sandboxes its pass did not list, so the list is never held whole. A separate table, not a
-- column on sandboxes: stamping a row would lock it, and allocations skip locked rows. The rows
-- of a pass go when it ends; a pass that never ended (a crash) goes with a later one's.
CREATE TABLE sync_listed (
    pass       bigint NOT NULL,
    sandbox_id text COLLATE "C" NOT NULL,
    listed_at  bigint NOT NULL,
    PRIMARY KEY (pass, sandbox_id)
);

-- name: step_11_pool_counts_qualified
-- The pool_counts trigger functions of step 7 again, with the same effect, without `SET
-- search_path FROM CURRENT`: that clause made PostgreSQL set and restore the setting, and
-- recompute the namespace path, on every call, and every allocation, mark, release and sync
-- statement makes one. Instead each function names this schema's pool_counts in full, so a
-- writer whose search_path differs still counts here; the rest they read is the statement's
-- transition tables (found before any schema) and pg_catalog's functions, named with their
-- schema. The schema's name is the migrating connection's current_schema(), the one step 7
-- created them in; `%%` is format()'s `%`. Same names, signatures and effect: the triggers
-- keep calling them, and the release before keeps running (its statements fire the same
-- triggers).
DO $step$
BEGIN
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION %1$I.pool_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE %1$I.pool_counts AS c SET n = c.n + d.k
      FROM (SELECT status, pg_catalog.count(*) AS k FROM pool_counts_new GROUP BY status) AS d
     WHERE c.status = d.status AND c.slot = pg_catalog.pg_backend_pid() %% 16;
    RETURN NULL;
END
$fn$$f$, current_schema());
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION %1$I.pool_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE %1$I.pool_counts AS c SET n = c.n - d.k
      FROM (SELECT status, pg_catalog.count(*) AS k FROM pool_counts_old GROUP BY status) AS d
     WHERE c.status = d.status AND c.slot = pg_catalog.pg_backend_pid() %% 16;
    RETURN NULL;
END
$fn$$f$, current_schema());
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION %1$I.pool_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE %1$I.pool_counts AS c SET n = c.n + d.k
      FROM (SELECT status, pg_catalog.sum(k) AS k
              FROM (SELECT status, pg_catalog.count(*) AS k FROM pool_counts_new GROUP BY status
                    UNION ALL
                    SELECT status, -pg_catalog.count(*) AS k FROM pool_counts_old GROUP BY status) AS x
             GROUP BY status
            HAVING pg_catalog.sum(k) <> 0) AS d
     WHERE c.status = d.status AND c.slot = pg_catalog.pg_backend_pid() %% 16;
    RETURN NULL;
END
$fn$$f$, current_schema());
END
$step$;
