// The SQL of the lifecycle jobs and the job-state rows, in one place like sandbox_sql.hpp:
// constants never built from input, so tests can ask SQLite how it plans each of them.
//
// Without statistics SQLite prefers an equality on sandboxes_status_name (status=?) to a range
// on a job's partial index, which means reading every row of that status and sorting them.
// So each job's pick names its index (INDEXED BY, which also fails loudly should the index
// go), and an outer UPDATE writes `+status` so it looks rows up by primary key instead.
#pragma once

#include <string_view>

namespace broker::sqlite {

// Marks available sandboxes the provider no longer lists. ?1 now, ?2 JSON array of listed ids.
inline constexpr std::string_view kMarkStaleSql =
    "UPDATE sandboxes SET status = 'stale', stale_since = ?1, updated_at = ?1, version = version + 1 "
    "WHERE status = 'available' AND sandbox_id NOT IN (SELECT value FROM json_each(?2)) RETURNING sandbox_id";

// Expiry: allocations whose own expires_at (an extension moves it) is at or before ?1 (they
// are expired now), earliest first, at most ?3. ?2 now. Status and expiry are repeated in the
// UPDATE, so a row returned or extended meanwhile is left alone.
inline constexpr std::string_view kExpireSql =
    "UPDATE sandboxes SET status = 'pending_deletion', deletion_requested_at = ?2, next_attempt_at = NULL, "
    "updated_at = ?2, version = version + 1 "
    "WHERE +status = 'allocated' AND +expires_at <= ?1 AND sandbox_id IN (SELECT sandbox_id FROM sandboxes "
    "INDEXED BY sandboxes_allocated_expires WHERE status = 'allocated' AND expires_at <= ?1 "
    "ORDER BY expires_at LIMIT ?3) RETURNING sandbox_id";

// Claimable returned sandboxes, oldest request first. ?1 now, ?2 limit.
inline constexpr std::string_view kClaimablePendingSql =
    "SELECT sandbox_id FROM sandboxes INDEXED BY sandboxes_pending_requested WHERE status = "
    "'pending_deletion' "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) AND claim_until <= ?1 "
    "ORDER BY deletion_requested_at LIMIT ?2";

// Claimable failed deletions whose slow retry is due, longest waiting first. ?1 now, ?2 limit.
inline constexpr std::string_view kClaimableFailedSql =
    "SELECT sandbox_id FROM sandboxes INDEXED BY sandboxes_failed_next_attempt "
    "WHERE status = 'deletion_failed' AND next_attempt_at <= ?1 "
    "AND claim_until <= ?1 ORDER BY next_attempt_at LIMIT ?2";

// ?1 id, ?2 worker, ?3 claim until, ?4 now.
inline constexpr std::string_view kClaimSql =
    "UPDATE sandboxes SET claim_owner = ?2, claim_until = ?3, updated_at = ?4, version = version + 1 "
    "WHERE sandbox_id = ?1 AND status IN ('pending_deletion', 'deletion_failed') AND claim_until <= ?4";

// The claimant's heartbeat. ?1 id, ?2 worker, ?3 claim until. No version bump: the claim is
// bookkeeping, the sandbox does not change.
inline constexpr std::string_view kRenewClaimSql =
    "UPDATE sandboxes SET claim_until = ?3 "
    "WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')";

// A run that stops early gives its claims back. ?1 id, ?2 worker.
inline constexpr std::string_view kReleaseClaimSql =
    "UPDATE sandboxes SET claim_owner = '', claim_until = 0 "
    "WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')";

inline constexpr std::string_view kDeletionStateSql =
    "SELECT status, claim_owner, deletion_retry_count FROM sandboxes WHERE sandbox_id = ?1";

// ?1 id, ?2 now.
inline constexpr std::string_view kRecordDeletedSql =
    "UPDATE sandboxes SET status = 'deleted', claim_owner = '', claim_until = 0, next_attempt_at = NULL, "
    "last_error = '', updated_at = ?2, version = version + 1 "
    "WHERE sandbox_id = ?1 AND status IN ('pending_deletion', 'deletion_failed')";

// ?1 id, ?2 worker, ?3 now, ?4 new status, ?5 retry count, ?6 next attempt, ?7 error.
inline constexpr std::string_view kRecordFailureSql =
    "UPDATE sandboxes SET status = ?4, deletion_retry_count = ?5, next_attempt_at = ?6, last_error = ?7, "
    "claim_owner = '', claim_until = 0, updated_at = ?3, version = version + 1 "
    "WHERE sandbox_id = ?1 AND claim_owner = ?2 AND status IN ('pending_deletion', 'deletion_failed')";

// Stale since before ?1.
inline constexpr std::string_view kRemoveStaleSql =
    "DELETE FROM sandboxes INDEXED BY sandboxes_stale_since WHERE status = 'stale' AND stale_since < ?1 "
    "RETURNING sandbox_id";

inline constexpr std::string_view kBulkRemoveSql =
    "DELETE FROM sandboxes WHERE status = ?1 RETURNING sandbox_id";

// The bounded chunks of the large writes: each removes (or marks) at most ?2 rows, and the
// store repeats it, one transaction per chunk, until less than that is left.
inline constexpr std::string_view kRemoveStaleChunkSql =
    "DELETE FROM sandboxes WHERE sandbox_id IN (SELECT sandbox_id FROM sandboxes INDEXED BY "
    "sandboxes_stale_since WHERE status = 'stale' AND stale_since < ?1 LIMIT ?2) RETURNING sandbox_id";
inline constexpr std::string_view kBulkRemoveChunkSql =
    "DELETE FROM sandboxes WHERE sandbox_id IN (SELECT sandbox_id FROM sandboxes WHERE status = ?1 LIMIT ?2) "
    "RETURNING sandbox_id";
inline constexpr std::string_view kPruneHistoryChunkSql =
    "DELETE FROM sandbox_events WHERE id IN (SELECT id FROM sandbox_events WHERE at < ?1 LIMIT ?2)";

// Every available sandbox id (sync compares them with the provider's list off the writer).
inline constexpr std::string_view kAvailableIdsSql =
    "SELECT sandbox_id FROM sandboxes WHERE status = 'available'";

// One unlisted sandbox becomes stale, if it is still available. ?1 id, ?2 now.
inline constexpr std::string_view kMarkOneStaleSql =
    "UPDATE sandboxes SET status = 'stale', stale_since = ?2, updated_at = ?2, version = version + 1 "
    "WHERE sandbox_id = ?1 AND status = 'available'";

inline constexpr std::string_view kInsertRemovalEventSql =
    "INSERT INTO sandbox_events (sandbox_id, at, from_status, to_status, actor, reason) "
    "VALUES (?1, ?2, ?3, NULL, ?4, ?5)";

inline constexpr std::string_view kHistorySql =
    "SELECT id, sandbox_id, at, from_status, to_status, actor, reason FROM sandbox_events "
    "WHERE sandbox_id = ?1 ORDER BY id";

inline constexpr std::string_view kPruneHistorySql = "DELETE FROM sandbox_events WHERE at < ?1";

// Job state. ?1 job, ?2 now.
inline constexpr std::string_view kEnsureJobSql =
    "INSERT INTO job_state (job, updated_at) VALUES (?1, ?2) ON CONFLICT (job) DO NOTHING";

// ?1 job, ?2 holder, ?3 now, ?4 lease until, ?5 next run at. The whole precondition (not
// paused, no live lease of another, due, requested or abandoned by a holder whose lease ran
// out) is in the WHERE clause.
inline constexpr std::string_view kStartJobSql =
    "UPDATE job_state SET holder = ?2, lease_until = ?4, last_started_at = ?3, next_run_at = ?5, "
    "run_requested = 0, progress = '', updated_at = ?3 "
    "WHERE job = ?1 AND paused = 0 AND (holder = '' OR lease_until <= ?3) "
    "AND (next_run_at <= ?3 OR run_requested <> 0 OR holder <> '')";

// The new holder takes the job's requested runs along: queued ones, and running ones whose
// holder lost the lease. ?1 job, ?2 holder, ?3 now.
inline constexpr std::string_view kAdoptRunsSql =
    "UPDATE job_runs SET status = 'running', holder = ?2, started_at = ?3, progress = '' "
    "WHERE job = ?1 AND status IN ('queued', 'running')";

// ?1 job, ?2 holder, ?3 now, ?4 lease until, ?5 progress.
inline constexpr std::string_view kRenewJobSql =
    "UPDATE job_state SET lease_until = ?4, progress = ?5, updated_at = ?3 WHERE job = ?1 AND holder = ?2";

// ?1 job, ?2 holder, ?3 progress.
inline constexpr std::string_view kRunProgressSql =
    "UPDATE job_runs SET progress = ?3 WHERE job = ?1 AND holder = ?2 AND status = 'running'";

// ?1 job, ?2 holder, ?3 now, ?4 ok, ?5 result.
inline constexpr std::string_view kFinishJobSql =
    "UPDATE job_state SET holder = '', lease_until = 0, last_finished_at = ?3, last_ok = ?4, last_result = "
    "?5, progress = '', updated_at = ?3 WHERE job = ?1 AND holder = ?2";

// ?1 job, ?2 holder, ?3 now, ?4 ok, ?5 result.
inline constexpr std::string_view kFinishRunsSql =
    "UPDATE job_runs SET status = 'finished', finished_at = ?3, ok = ?4, result = ?5, progress = '' "
    "WHERE job = ?1 AND holder = ?2 AND status = 'running'";

// Runs requested while the finished run was going on keep the job requested. ?1 job.
inline constexpr std::string_view kRequeueJobSql =
    "UPDATE job_state SET run_requested = 1 "
    "WHERE job = ?1 AND EXISTS (SELECT 1 FROM job_runs WHERE job = ?1 AND status = 'queued')";

// ?1 job, ?2 now.
inline constexpr std::string_view kInsertRunSql =
    "INSERT INTO job_runs (job, status, requested_at) VALUES (?1, 'queued', ?2) RETURNING id";

// Keeps the newest ?2 runs of job ?1 (finished ones only are forgotten).
inline constexpr std::string_view kPruneRunsSql =
    "DELETE FROM job_runs WHERE job = ?1 AND status = 'finished' "
    "AND id NOT IN (SELECT id FROM job_runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2)";

// ?1 job, ?2 id.
inline constexpr std::string_view kJobRunSql =
    "SELECT id, job, status, requested_at, started_at, finished_at, holder, progress, ok, result "
    "FROM job_runs WHERE job = ?1 AND id = ?2";

inline constexpr std::string_view kPauseJobSql =
    "INSERT INTO job_state (job, paused, updated_at) VALUES (?1, ?3, ?2) "
    "ON CONFLICT (job) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at";

inline constexpr std::string_view kRequestRunSql =
    "INSERT INTO job_state (job, run_requested, updated_at) VALUES (?1, 1, ?2) "
    "ON CONFLICT (job) DO UPDATE SET run_requested = 1, updated_at = excluded.updated_at";

inline constexpr std::string_view kJobStatesSql =
    "SELECT job, paused, run_requested, holder, lease_until, next_run_at, last_started_at, last_finished_at, "
    "last_result, last_ok, progress FROM job_state ORDER BY job";

}  // namespace broker::sqlite
