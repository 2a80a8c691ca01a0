// The PostgreSQL store's statements and row mapping: see pg_sql.hpp. Writes that change a
// sandbox are single statements whose data-modifying CTEs also record the transition in
// sandbox_events, so the change and its history commit together in one round trip.
#include "store/postgres/pg_sql.hpp"

#include "core/errors.hpp"
#include "core/utf8.hpp"

namespace broker::pg {
namespace {

#define COLS BROKER_PG_SANDBOX_COLUMNS

// Allocation in one statement: what the participant holds; unless that already decides the
// answer (a holding under the same key, or the participant at its limit), the first available
// sandbox by name that no concurrent allocation has locked (SKIP LOCKED: callers spread over
// the index instead of queueing on one row), taken in the participant's lowest free slot. The
// partial unique indexes on allocated (participant, key) and (participant, slot) stop a racing
// twin; the store then runs the statement again and decides on what the winner left.
// $1 participant, $2 track, $3 key, $4 now, $5 expires_at, $6 limit, $7 prefix, $8 upper bound.
// Result: taken (bool), then the sandbox columns: the sandbox taken, or every holding when
// the holdings decide (decide_allocation picks the answer).
// `gate`: the plain statements take nothing while a rule may apply (a limit on the request's
// track, or a reservation with something outstanding in its window): then the store decides
// under its quota lock (sandbox_ops.cpp) with the quota statements, whose gate skips the
// name prefixes held back for other tracks (a text[] parameter).
#define ALLOCATE_SQL(name_range, gate)                                                                  \
    "WITH held AS (SELECT " COLS                                                                        \
    ", participant_slot"                                                                                \
    " FROM sandboxes WHERE allocated_to_track = $1 AND status = 'allocated'), "                         \
    "decided AS (SELECT 1 FROM held WHERE idempotency_key = $3 OR (SELECT count(*) FROM held) >= $6), " \
    "slot AS (SELECT min(g) AS n FROM generate_series(0, $6::integer - 1) AS g "                        \
    " WHERE NOT EXISTS (SELECT 1 FROM held WHERE participant_slot = g)), "                              \
    "pick AS (SELECT sandbox_id FROM sandboxes WHERE status = 'available'" name_range                   \
    " AND NOT EXISTS (SELECT 1 FROM decided)" gate                                                      \
    " ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED), "                                                  \
    "taken AS (UPDATE sandboxes s SET status = 'allocated', allocated_to_track = $1, track_name = $2, " \
    "idempotency_key = $3, allocated_at = $4, expires_at = $5, deletion_requested_at = NULL, "          \
    "participant_slot = (SELECT n FROM slot), version = s.version + 1, updated_at = $4 FROM pick "      \
    "WHERE s.sandbox_id = pick.sandbox_id AND s.status = 'available' RETURNING s.*), "                  \
    "event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "     \
    "SELECT sandbox_id, $4, 'available', 'allocated', $1, 'allocate' FROM taken) "                      \
    "SELECT true, " COLS " FROM taken UNION ALL SELECT false, " COLS                                    \
    " FROM held WHERE EXISTS (SELECT 1 FROM decided)"

#define NO_QUOTA_RULE                                                                              \
    " AND NOT EXISTS (SELECT 1 FROM track_limits WHERE track = $2) AND NOT EXISTS (SELECT 1 FROM " \
    "reservations WHERE starts_at <= $4 AND ends_at > $4 AND used < count)"
#define NOT_HELD_BACK(param) \
    " AND NOT EXISTS (SELECT 1 FROM unnest(" param "::text[]) AS b(p) WHERE left(name, length(b.p)) = b.p)"

// Whether any sandbox of the pool (every status but deleted) has a name in the prefix's
// range: asked only when allocation found nothing available. $1 prefix, $2 upper bound.
#define PREFIX_KNOWN_SQL(name_range)                                                     \
    "SELECT EXISTS (SELECT 1 FROM sandboxes WHERE status IN ('available', 'allocated', " \
    "'pending_deletion', 'stale', 'deletion_failed')" name_range ")"

// Sync's upsert in one statement. The provider list comes as four text[] parameters ($1 ids,
// $2 names, $3 external ids, $4 sfdc ids; $5 now); a repeated id counts once with its last
// fields. Unchanged available sandboxes are not written at all: an UPDATE would lock them
// until commit, and allocations (SKIP LOCKED) would skip the whole pool during a sync.
// Result: inserted, revived, refreshed, skipped.
constexpr const char* kUpsertSql =
    "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY "
    "  AS u(sandbox_id, name, external_id, sfdc_account_id, ord)), "
    "listed AS (SELECT DISTINCT ON (sandbox_id) sandbox_id COLLATE \"C\" AS sandbox_id, name, external_id, "
    "  sfdc_account_id, count(*) OVER (PARTITION BY sandbox_id) - 1 AS repeats FROM input "
    "  ORDER BY sandbox_id, ord DESC), "
    "known AS (SELECT l.sandbox_id, l.repeats, s.status FROM listed l JOIN sandboxes s USING (sandbox_id)), "
    "inserted AS (INSERT INTO sandboxes (sandbox_id, name, external_id, sfdc_account_id, status, created_at, "
    "  updated_at, last_seen_at) SELECT sandbox_id, name, external_id, sfdc_account_id, 'available', "
    "$5::bigint, $5, $5 "
    "  FROM listed WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.sandbox_id = listed.sandbox_id) "
    "  ON CONFLICT (sandbox_id) DO NOTHING RETURNING sandbox_id), "
    "revived AS (UPDATE sandboxes s SET status = 'available', stale_since = NULL, name = l.name, "
    "  external_id = l.external_id, sfdc_account_id = l.sfdc_account_id, last_seen_at = $5, updated_at = $5, "
    "  version = s.version + 1 FROM listed l WHERE s.sandbox_id = l.sandbox_id AND s.status = 'stale' "
    "  RETURNING s.sandbox_id), "
    "refreshed AS (UPDATE sandboxes s SET name = l.name, external_id = l.external_id, "
    "  sfdc_account_id = l.sfdc_account_id, last_seen_at = $5, updated_at = $5, version = s.version + 1 "
    "  FROM listed l WHERE s.sandbox_id = l.sandbox_id AND s.status = 'available' "
    "  AND (s.name, s.external_id, s.sfdc_account_id) IS DISTINCT FROM (l.name, l.external_id, "
    "l.sfdc_account_id) "
    "  RETURNING s.sandbox_id), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $5, NULL, 'available', 'sync', 'listed by provider' FROM inserted "
    "  UNION ALL SELECT sandbox_id, $5, 'stale', 'available', 'sync', 'listed by provider again' FROM "
    "revived) "
    "SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM revived), "
    "  (SELECT count(*) FROM known WHERE status = 'available'), "
    "  (SELECT count(*) FROM known WHERE status NOT IN ('available', 'stale')), "
    // A repeat finds the sandbox as the first occurrence left it: available unless it is held
    // or being deleted.
    "  (SELECT coalesce(sum(repeats), 0) FROM listed l WHERE NOT EXISTS (SELECT 1 FROM known k "
    "     WHERE k.sandbox_id = l.sandbox_id AND k.status NOT IN ('available', 'stale'))), "
    "  (SELECT coalesce(sum(repeats), 0) FROM known WHERE status NOT IN ('available', 'stale'))";

// $1 listed ids (text[]), $2 now. Result: how many became stale. NOT EXISTS, not NOT IN: an
// anti join stays a hash (or merge) join for 200k ids, where NOT IN degrades to a linear
// search per row once the list outgrows work_mem.
constexpr const char* kMarkUnlistedStaleSql =
    "WITH listed AS MATERIALIZED (SELECT unnest($1::text[]) COLLATE \"C\" AS sandbox_id), "
    "gone AS (UPDATE sandboxes s SET status = 'stale', stale_since = $2, updated_at = $2, version = "
    "s.version + 1 "
    "  WHERE s.status = 'available' AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.sandbox_id = "
    "s.sandbox_id) "
    "  RETURNING s.sandbox_id), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $2, 'available', 'stale', 'sync', 'not listed by provider' FROM gone) "
    "SELECT count(*) FROM gone";

// $1 id, $2 participant, $3 now. Run after the row was locked and checked.
constexpr const char* kMarkSql =
    "WITH marked AS (UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = $3, "
    "  version = version + 1, updated_at = $3 "
    "  WHERE sandbox_id = $1 AND status = 'allocated' AND allocated_to_track = $2 RETURNING *), "
    "event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $3, 'allocated', 'pending_deletion', $2, 'mark-for-deletion' FROM marked) "
    "SELECT " COLS " FROM marked";

// $1 id, $2 participant, $3 expires_at read, $4 version read, $5 new expires_at, $6 now, $7 the
// history reason. Run after the row was locked and checked.
constexpr const char* kExtendSql =
    "WITH moved AS (UPDATE sandboxes SET expires_at = $5, version = version + 1, updated_at = $6 "
    "  WHERE sandbox_id = $1 AND status = 'allocated' AND allocated_to_track = $2 AND expires_at = $3 "
    "  AND version = $4 RETURNING *), "
    "event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $6, 'allocated', 'allocated', $2, $7 FROM moved) "
    "SELECT " COLS " FROM moved";

// $1 now, $2 expires_at at or before this is expired (the row's own: an extension moves it),
// $3 limit. A row an extension holds locked is skipped; one extended meanwhile fails the
// repeated condition.
constexpr const char* kExpireSql =
    "WITH due AS (SELECT sandbox_id FROM sandboxes WHERE status = 'allocated' AND expires_at <= $2 "
    "  ORDER BY expires_at, sandbox_id LIMIT $3 FOR UPDATE SKIP LOCKED), "
    "moved AS (UPDATE sandboxes s SET status = 'pending_deletion', deletion_requested_at = $1, "
    "  next_deletion_at = NULL, version = s.version + 1, updated_at = $1 FROM due "
    "  WHERE s.sandbox_id = due.sandbox_id AND s.status = 'allocated' AND s.expires_at <= $2 RETURNING "
    "s.*), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $1, 'allocated', 'pending_deletion', 'auto_expiry', 'lease expired (lab duration + "
    "grace)' FROM moved) "
    "SELECT " COLS " FROM moved ORDER BY expires_at, sandbox_id";

// $1 worker, $2 now, $3 lease until, $4 limit. Returned sandboxes first (oldest request
// first); failed ones whose slow retry is due fill what is left (longest waiting first).
// Each side is an index range of its own partial index, locked with SKIP LOCKED so two
// claimers never wait for or share a row.
constexpr const char* kClaimSql =
    "WITH pending AS (SELECT sandbox_id, 0 AS kind, deletion_requested_at AS due_at FROM sandboxes "
    "  WHERE status = 'pending_deletion' AND (next_deletion_at IS NULL OR next_deletion_at <= $2) "
    "  AND deletion_claim_until <= $2 ORDER BY deletion_requested_at, sandbox_id LIMIT $4 FOR UPDATE SKIP "
    "LOCKED), "
    "failed AS (SELECT sandbox_id, 1 AS kind, next_deletion_at AS due_at FROM sandboxes "
    "  WHERE status = 'deletion_failed' AND next_deletion_at <= $2 AND deletion_claim_until <= $2 "
    "  ORDER BY next_deletion_at, sandbox_id LIMIT $4 FOR UPDATE SKIP LOCKED), "
    "due AS (SELECT * FROM pending UNION ALL SELECT * FROM failed ORDER BY kind, due_at, sandbox_id LIMIT "
    "$4), "
    "claimed AS (UPDATE sandboxes s SET deletion_claimed_by = $1, deletion_claim_until = $3, updated_at = "
    "$2, "
    "  version = s.version + 1 FROM due WHERE s.sandbox_id = due.sandbox_id "
    "  AND s.status IN ('pending_deletion', 'deletion_failed') RETURNING s.*, due.kind, due.due_at) "
    "SELECT " COLS " FROM claimed ORDER BY kind, due_at, sandbox_id";

// $1 id, $2 actor, $3 now, $4 reason. Result: one row when the sandbox moved to deleted.
constexpr const char* kRecordDeletedSql =
    "WITH old AS (SELECT sandbox_id, status FROM sandboxes WHERE sandbox_id = $1 "
    "  AND status IN ('pending_deletion', 'deletion_failed') FOR UPDATE), "
    "moved AS (UPDATE sandboxes s SET status = 'deleted', deletion_claimed_by = '', deletion_claim_until = "
    "0, "
    "  next_deletion_at = NULL, last_deletion_error = '', "
    "  version = s.version + 1, updated_at = $3 FROM old WHERE s.sandbox_id = old.sandbox_id "
    "  RETURNING s.sandbox_id, old.status AS from_status), "
    "event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $3::bigint, from_status, 'deleted', $2::text, $4::text FROM moved) "
    "SELECT sandbox_id FROM moved";

// $1 id, $2 worker, $3 now, $4 next attempt at, $5 max attempts, $6 reason.
constexpr const char* kRecordFailureSql =
    "WITH old AS (SELECT sandbox_id, status, deletion_retry_count FROM sandboxes WHERE sandbox_id = $1 "
    "  AND status IN ('pending_deletion', 'deletion_failed') AND deletion_claimed_by = $2 FOR UPDATE), "
    "moved AS (UPDATE sandboxes s SET deletion_retry_count = old.deletion_retry_count + 1, "
    "  status = CASE WHEN old.deletion_retry_count + 1 >= $5 THEN 'deletion_failed' ELSE old.status END, "
    "  next_deletion_at = $4, deletion_claimed_by = '', deletion_claim_until = 0, last_deletion_error = $6, "
    "  version = s.version + 1, updated_at = $3 FROM old WHERE s.sandbox_id = old.sandbox_id "
    "  RETURNING s.sandbox_id, old.status AS from_status, s.status AS to_status, s.deletion_retry_count), "
    "event AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $3, from_status, to_status, 'cleanup', "
    "  'attempt ' || deletion_retry_count || ' failed (' || $2 || '): ' || $6 FROM moved "
    "  WHERE from_status <> to_status) "
    "SELECT sandbox_id FROM moved";

// $1 stale before, $2 now, $3 actor.
constexpr const char* kRemoveStaleSql =
    "WITH gone AS (DELETE FROM sandboxes WHERE status = 'stale' AND stale_since < $1 RETURNING sandbox_id), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $2::bigint, 'stale', NULL, $3::text, 'stale past the grace period' FROM gone) "
    "SELECT count(*) FROM gone";

// $1 status, $2 now, $3 actor.
constexpr const char* kBulkRemoveSql =
    "WITH gone AS (DELETE FROM sandboxes WHERE status = $1 RETURNING sandbox_id, status), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT sandbox_id, $2::bigint, status, NULL, $3::text, 'bulk remove' FROM gone) "
    "SELECT count(*) FROM gone";

// `copy`: sandboxes from another store, written as given with their history, each only if
// its id is not there yet (a rerun carries on). $1..$15 the Sandbox fields in COLS order as
// arrays; $16..$21 the events (sandbox id, at, from, to, actor, reason), oldest first. A stale
// sandbox is stale since its last change; a failed deletion is due for its next attempt.
// Allocations take no participant slot (NULL, as those made before slots existed).
// Result: how many sandboxes were written.
constexpr const char* kInsertCopiedSql =
    "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "  $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::integer[], "
    "  $13::bigint[], $14::bigint[], $15::bigint[]) AS u(" COLS
    ")), "
    "inserted AS (INSERT INTO sandboxes (" COLS
    ", stale_since, next_deletion_at) "
    "  SELECT " COLS
    ", CASE WHEN status = 'stale' THEN updated_at END, "
    "  CASE WHEN status = 'deletion_failed' THEN updated_at END FROM input "
    "  ON CONFLICT (sandbox_id) DO NOTHING RETURNING sandbox_id), "
    "history AS (SELECT * FROM unnest($16::text[], $17::bigint[], $18::text[], $19::text[], $20::text[], "
    "  $21::text[]) WITH ORDINALITY AS h(sandbox_id, at, from_status, to_status, actor, reason, ord)), "
    "events AS (INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "  SELECT h.sandbox_id, h.at, h.from_status, h.to_status, h.actor, h.reason FROM history h "
    "  JOIN inserted i ON i.sandbox_id = h.sandbox_id ORDER BY h.ord) "
    "SELECT count(*) FROM inserted";

#define JOB_COLS                                                                                        \
    "job, paused, run_requested, holder, lease_until, next_run_at, last_started_at, last_finished_at, " \
    "last_result, last_ok, progress"

// $1 job, $2 holder, $3 now, $4 interval, $5 lease. One statement: the first use creates the
// row already started; otherwise the row is updated only when the run may start (due,
// requested, or abandoned by a holder whose lease ran out). The new holder adopts the job's
// requested runs: queued ones, and running ones of a holder that lost the lease.
constexpr const char* kStartJobSql =
    "WITH started AS (INSERT INTO job_states AS j (job, holder, lease_until, last_started_at, next_run_at) "
    "VALUES ($1, $2, $3::bigint + $5::bigint, $3, $3::bigint + $4::bigint) "
    "ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until, "
    "  last_started_at = EXCLUDED.last_started_at, next_run_at = EXCLUDED.next_run_at, run_requested = "
    "false, "
    "  progress = '' "
    "WHERE NOT j.paused AND (j.holder = '' OR j.lease_until <= $3) "
    "  AND (j.next_run_at <= $3 OR j.run_requested OR j.holder <> '') "
    "RETURNING job), "
    "adopted AS (UPDATE job_runs r SET status = 'running', holder = $2, started_at = $3, progress = '' "
    "  WHERE r.job = $1 AND r.status IN ('queued', 'running') AND EXISTS (SELECT 1 FROM started)) "
    "SELECT job FROM started";

// $1 job, $2 holder, $3 now, $4 ok, $5 result. The runs it adopted get the result; runs
// requested meanwhile keep the job requested (they may have been queued after this
// statement's snapshot was taken: finish re-checks them).
constexpr const char* kFinishJobSql =
    "WITH finished AS (UPDATE job_states SET holder = '', lease_until = 0, last_finished_at = $3, "
    "  last_ok = $4, last_result = $5, progress = '', "
    "  run_requested = run_requested OR EXISTS (SELECT 1 FROM job_runs WHERE job = $1 AND status = 'queued') "
    "  WHERE job = $1 AND holder = $2 RETURNING job), "
    "runs AS (UPDATE job_runs SET status = 'finished', finished_at = $3, ok = $4, result = $5, progress = '' "
    "  WHERE job = $1 AND holder = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM finished)) "
    "SELECT job FROM finished";

// $1 job, $2 holder, $3 lease until, $4 progress.
constexpr const char* kRenewJobSql =
    "WITH renewed AS (UPDATE job_states SET lease_until = $3, progress = $4 "
    "  WHERE job = $1 AND holder = $2 AND holder <> '' RETURNING job), "
    "runs AS (UPDATE job_runs SET progress = $4 WHERE job = $1 AND holder = $2 AND status = 'running' "
    "  AND EXISTS (SELECT 1 FROM renewed)) "
    "SELECT job FROM renewed";

// $1 job, $2 now, $3 runs kept. Records the request and the queued run, forgets the job's
// oldest finished runs beyond $3. Result: the run's id.
constexpr const char* kRequestJobSql =
    "WITH requested AS (INSERT INTO job_states (job, run_requested) VALUES ($1, true) "
    "  ON CONFLICT (job) DO UPDATE SET run_requested = true RETURNING job), "
    "run AS (INSERT INTO job_runs (job, status, requested_at) VALUES ($1, 'queued', $2) RETURNING id), "
    "pruned AS (DELETE FROM job_runs WHERE job = $1 AND status = 'finished' AND id NOT IN "
    "  (SELECT id FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT $3::int - 1)) "
    "SELECT id FROM run, requested";

// $1 ids (text[]), $2 worker, $3 claim until.
constexpr const char* kRenewClaimsSql =
    "UPDATE sandboxes SET deletion_claim_until = $3 WHERE sandbox_id = ANY($1::text[]) "
    "AND deletion_claimed_by = $2 AND status IN ('pending_deletion', 'deletion_failed')";

// $1 ids (text[]), $2 worker.
constexpr const char* kReleaseClaimsSql =
    "UPDATE sandboxes SET deletion_claimed_by = '', deletion_claim_until = 0 WHERE sandbox_id = "
    "ANY($1::text[]) "
    "AND deletion_claimed_by = $2 AND status IN ('pending_deletion', 'deletion_failed')";

void prepare_all(pqxx::connection& conn) {
    conn.prepare(stmt::kAllocateAny, ALLOCATE_SQL("", NO_QUOTA_RULE));
    conn.prepare(stmt::kAllocateRange, ALLOCATE_SQL(" AND name >= $7 AND name < $8", NO_QUOTA_RULE));
    conn.prepare(stmt::kAllocateFrom, ALLOCATE_SQL(" AND name >= $7 AND $8::text = ''", NO_QUOTA_RULE));
    conn.prepare(stmt::kAllocateQuotaAny, ALLOCATE_SQL("", NOT_HELD_BACK("$7")));
    conn.prepare(stmt::kAllocateQuotaRange,
                 ALLOCATE_SQL(" AND name >= $7 AND name < $8", NOT_HELD_BACK("$9")));
    conn.prepare(stmt::kAllocateQuotaFrom,
                 ALLOCATE_SQL(" AND name >= $7 AND $8::text = ''", NOT_HELD_BACK("$9")));
    conn.prepare(stmt::kQuotaApplies,
                 "SELECT EXISTS (SELECT 1 FROM track_limits WHERE track = $1) OR EXISTS (SELECT 1 FROM "
                 "reservations WHERE starts_at <= $2 AND ends_at > $2 AND used < count)");
    conn.prepare(stmt::kHoldings, "SELECT false, " COLS
                                  " FROM sandboxes WHERE allocated_to_track = $1 AND status = 'allocated'");
    conn.prepare(stmt::kPrefixKnownRange, PREFIX_KNOWN_SQL(" AND name >= $1 AND name < $2"));
    conn.prepare(stmt::kPrefixKnownFrom, PREFIX_KNOWN_SQL(" AND name >= $1 AND $2::text = ''"));
    conn.prepare(stmt::kFindById, "SELECT " COLS " FROM sandboxes WHERE sandbox_id = $1");
    conn.prepare(stmt::kFindByIdForUpdate, "SELECT " COLS " FROM sandboxes WHERE sandbox_id = $1 FOR UPDATE");
    conn.prepare(stmt::kMark, kMarkSql);
    conn.prepare(stmt::kUpsert, kUpsertSql);
    conn.prepare(stmt::kMarkUnlistedStale, kMarkUnlistedStaleSql);
    conn.prepare(stmt::kCountByStatus, "SELECT status, count(*) FROM sandboxes GROUP BY status");
    conn.prepare(stmt::kListAll, "SELECT " COLS
                                 " FROM sandboxes WHERE sandbox_id > $1 AND status <> 'deleted' "
                                 "ORDER BY sandbox_id LIMIT $2");
    conn.prepare(stmt::kListByStatus, "SELECT " COLS
                                      " FROM sandboxes WHERE sandbox_id > $1 AND status = $3 "
                                      "ORDER BY sandbox_id LIMIT $2");
    conn.prepare(stmt::kExpire, kExpireSql);
    conn.prepare(stmt::kExtend, kExtendSql);
    conn.prepare(stmt::kClaim, kClaimSql);
    conn.prepare(stmt::kRecordDeleted, kRecordDeletedSql);
    conn.prepare(stmt::kRecordFailure, kRecordFailureSql);
    conn.prepare(stmt::kRemoveStale, kRemoveStaleSql);
    conn.prepare(stmt::kBulkRemove, kBulkRemoveSql);
    conn.prepare(stmt::kHistory,
                 "SELECT id, sandbox_id, at, from_status, to_status, actor, reason "
                 "FROM sandbox_events WHERE sandbox_id = $1 ORDER BY id");
    conn.prepare(stmt::kPruneHistory, "DELETE FROM sandbox_events WHERE at < $1");
    conn.prepare(stmt::kStartJob, kStartJobSql);
    conn.prepare(stmt::kFinishJob, kFinishJobSql);
    conn.prepare(stmt::kRenewJob, kRenewJobSql);
    conn.prepare(stmt::kRenewClaims, kRenewClaimsSql);
    conn.prepare(stmt::kReleaseClaims, kReleaseClaimsSql);
    conn.prepare(
        stmt::kJobRun,
        "SELECT id, job, status, requested_at, started_at, finished_at, holder, progress, ok, result "
        "FROM job_runs WHERE job = $1 AND id = $2");
    conn.prepare(stmt::kPauseJob,
                 "INSERT INTO job_states (job, paused) VALUES ($1, $2) "
                 "ON CONFLICT (job) DO UPDATE SET paused = EXCLUDED.paused");
    conn.prepare(stmt::kRequestJob, kRequestJobSql);
    conn.prepare(stmt::kJobStates, "SELECT " JOB_COLS " FROM job_states ORDER BY job");
    // Touches the sandboxes table: a database that answers but was never migrated is not ready.
    conn.prepare(stmt::kPing, "SELECT 1 FROM sandboxes LIMIT 1");
    conn.prepare(stmt::kInsertCopied, kInsertCopiedSql);
}

#undef ALLOCATE_SQL
#undef PREFIX_KNOWN_SQL
#undef JOB_COLS
#undef COLS

std::optional<std::int64_t> optional_integer(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

SandboxStatus status_of(const pqxx::field& f, const std::string& sandbox_id) {
    const std::string text = f.as<std::string>();
    auto parsed = parse_status(text);
    if (!parsed)
        throw StoreUnavailable("PostgreSQL row " + sandbox_id + " has unknown status '" + text + "'");
    return *parsed;
}

}  // namespace

void prepare_statements(pqxx::connection& conn) {
    prepare_all(conn);
}

Sandbox read_sandbox(const pqxx::row& row) {
    Sandbox s;
    const auto base = row.size() == 16 ? 1 : 0;  // allocation rows lead with the `taken` flag
    const auto at = [&](int i) { return row[static_cast<pqxx::row::size_type>(base + i)]; };
    s.sandbox_id = at(0).as<std::string>();
    s.name = at(1).as<std::string>();
    s.external_id = at(2).as<std::string>();
    s.sfdc_account_id = at(3).as<std::string>();
    s.status = status_of(at(4), s.sandbox_id);
    s.allocated_to_track = at(5).as<std::string>();
    s.track_name = at(6).as<std::string>();
    s.idempotency_key = at(7).as<std::string>();
    s.allocated_at = optional_integer(at(8));
    s.expires_at = optional_integer(at(9));
    s.deletion_requested_at = optional_integer(at(10));
    s.deletion_retry_count = at(11).as<int>();
    s.created_at = at(12).as<std::int64_t>();
    s.updated_at = at(13).as<std::int64_t>();
    s.version = at(14).as<std::int64_t>();
    return s;
}

SandboxEvent read_event(const pqxx::row& row) {
    SandboxEvent e;
    e.id = row[0].as<std::int64_t>();
    e.sandbox_id = row[1].as<std::string>();
    e.at = row[2].as<std::int64_t>();
    if (!row[3].is_null()) e.from = status_of(row[3], e.sandbox_id);
    if (!row[4].is_null()) e.to = status_of(row[4], e.sandbox_id);
    e.actor = row[5].as<std::string>();
    e.reason = row[6].as<std::string>();
    return e;
}

std::optional<std::string> utf8_prefix_upper_bound(std::string_view prefix) {
    std::vector<char32_t> code_points;
    char32_t cp = 0;
    for (std::size_t i = 0; i < prefix.size();) {
        const std::size_t n = decode_utf8(prefix, i, cp);
        if (n == 0) return std::nullopt;
        code_points.push_back(cp);
        i += n;
    }
    while (!code_points.empty() && code_points.back() == 0x10FFFF) code_points.pop_back();
    if (code_points.empty()) return std::string();
    char32_t& last = code_points.back();
    last = last == 0xD7FF ? 0xE000 : last + 1;
    std::string upper;
    for (char32_t c : code_points) append_utf8(upper, c);
    return upper;
}

void append_array_element(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

}  // namespace broker::pg
