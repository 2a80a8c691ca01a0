// The PostgreSQL store's maintained counts by status: the schema step that creates them (a
// striped table kept by triggers on sandboxes) and the statement that reads them.
#pragma once

#include <string_view>

namespace broker::pg {

inline constexpr std::string_view kPoolCountsSummary =
    "counts by status kept by triggers in 16 slots per status (pool_counts)";

// Every status has 16 slots; a change updates the slot of its connection (backend pid mod 16),
// so writers on different connections rarely wait for one another's counter row, and a read
// sums the slots (96 rows). The triggers run in the writing statement's transaction, so every
// writer (this binary, an older one, a copy, a hand-run statement) keeps the counts true. A
// status change updates its two rows in one statement (index order), so two single-row
// changes never take them in opposite orders. The triggers are created before the count: they
// take the table's SHARE ROW EXCLUSIVE lock, so no writer commits between the count and them.
inline constexpr std::string_view kPoolCountsStep = R"sql(
CREATE TABLE pool_counts (
    status text COLLATE "C" NOT NULL,
    slot   integer NOT NULL,
    n      bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (status, slot)
);
CREATE FUNCTION pool_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    s integer := pg_backend_pid() % 16;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE pool_counts SET n = n + 1 WHERE status = NEW.status AND slot = s;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE pool_counts SET n = n - 1 WHERE status = OLD.status AND slot = s;
    ELSE
        UPDATE pool_counts SET n = n + CASE WHEN status = NEW.status THEN 1 ELSE -1 END
         WHERE slot = s AND status IN (OLD.status, NEW.status);
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER pool_counts_insert_delete AFTER INSERT OR DELETE ON sandboxes
    FOR EACH ROW EXECUTE FUNCTION pool_counts_apply();
CREATE TRIGGER pool_counts_status AFTER UPDATE OF status ON sandboxes
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION pool_counts_apply();
INSERT INTO pool_counts (status, slot, n)
    SELECT st, sl, 0
      FROM unnest(ARRAY['available', 'allocated', 'pending_deletion', 'stale', 'deletion_failed',
                        'deleted']) AS st, generate_series(0, 15) AS sl;
UPDATE pool_counts SET n = c.k
  FROM (SELECT status, count(*) AS k FROM sandboxes GROUP BY status) AS c
 WHERE pool_counts.status = c.status AND pool_counts.slot = 0;
)sql";

// 96 rows, whatever the pool's size.
inline constexpr const char* kReadPoolCountsSql =
    "SELECT status, sum(n)::bigint FROM pool_counts GROUP BY status";

}  // namespace broker::pg
