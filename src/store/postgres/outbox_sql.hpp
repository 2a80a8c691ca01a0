// The PostgreSQL store's outbox schema step; its statements are in sql/outbox.sql.
//
// Concurrent transactions commit out of the order they took sequence numbers in, so an id
// taken inside the change could become visible after a higher one a reader already passed.
// The change therefore writes its event to outbox_pending (a trigger on the history, the one
// place every transition is recorded), and a sequencer (outbox_ops: one at a time under an
// advisory lock, run by whoever reads) moves the committed pending rows into outbox_events
// with the next final ids, in one transaction. Final ids become visible in increasing order,
// so a reader resuming after id k never misses a lower id that commits later.
#pragma once

#include <string_view>

namespace broker::pg {

inline constexpr std::string_view kOutboxSchemaSummary =
    "the outbox (events written with each change, sequenced in commit order) and the pool's low-watermark "
    "state";

// The trigger (once per statement, over the history rows it inserted: a sync of 200 000
// sandboxes is one INSERT ... SELECT, not 200 000 calls) copies each sandbox as the change left
// it (the statement has finished when an AFTER trigger runs, so it sees the update beside it); the event's type
// and data are decided by the sequencer, in the code every store shares. `broker.events` =
// off (the session's EVENTS_ENABLED, and copies) writes nothing; `broker.outbox_fail` = on
// is the tests' injected failure right after the event was written.
inline constexpr std::string_view kOutboxSchemaSql = R"sql(
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
)sql";

}  // namespace broker::pg
