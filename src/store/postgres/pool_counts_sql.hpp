// The PostgreSQL store's maintained counts by status: the schema step that creates them (a
// striped table kept by statement-level triggers on sandboxes) and the statement that reads
// them.
#pragma once

#include <string_view>

namespace broker::pg {

inline constexpr std::string_view kPoolCountsSummary =
    "counts by status kept by triggers in 16 slots per status (pool_counts)";

// Every status has 16 slots; a statement's changes go to the slot of its connection (backend
// pid mod 16), so writers on different connections rarely wait for one another's counter row,
// and a read sums the slots (96 rows). The triggers are statement-level with transition
// tables: one counter update per status a statement changes, however many rows it changes (a
// row-level trigger would update the same counter row once per row, and PostgreSQL's cost of
// updating one row many times in a transaction grows with the square of the count: 20 000
// row changes in one transaction took 86 s instead of 1.3 s). They run in the writing
// statement's transaction, so every writer (this binary, an older one, a copy, a hand-run
// statement) keeps the counts true. UPDATE statements that change no status (a lease
// extension, a claim) find nothing to add and write nothing. The triggers are created before
// the count: they take the table's SHARE ROW EXCLUSIVE lock, so no writer commits between the
// count and them. The functions keep the schema they were created in (SET search_path FROM
// CURRENT): a writer whose search_path differs still finds this schema's pool_counts.
inline constexpr std::string_view kPoolCountsStep = R"sql(
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
)sql";

// 96 rows, whatever the pool's size.
inline constexpr const char* kReadPoolCountsSql =
    "SELECT status, sum(n)::bigint FROM pool_counts GROUP BY status";

}  // namespace broker::pg
