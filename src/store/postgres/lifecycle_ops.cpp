// The PostgreSQL store's lifecycle and job-state operations: see lifecycle_ops.hpp.
#include "store/postgres/lifecycle_ops.hpp"

#include <pqxx/pqxx>
#include <stdexcept>

#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

std::vector<Sandbox> read_sandboxes(const pqxx::result& rows) {
    std::vector<Sandbox> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(read_sandbox(row));
    return out;
}

std::optional<std::int64_t> optional_integer(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

}  // namespace

std::vector<Sandbox> expire_allocations(pqxx::connection& conn, UnixSeconds now, const LeasePolicy& lease,
                                        int limit) {
    if (limit <= 0) return {};
    pqxx::nontransaction tx(conn);
    return read_sandboxes(
        tx.exec_prepared(stmt::kExpire, now, lease.expires_before_is_expired(now), limit));
}

std::vector<Sandbox> claim_for_deletion(pqxx::connection& conn, const DeletionClaim& claim) {
    if (claim.limit <= 0) return {};
    pqxx::nontransaction tx(conn);
    return read_sandboxes(
        tx.exec_prepared(stmt::kClaim, claim.worker_id, claim.now, claim.lease_until, claim.limit));
}

bool record_deleted(pqxx::connection& conn, const std::string& sandbox_id, const std::string& actor,
                    UnixSeconds now, std::string_view reason) {
    pqxx::nontransaction tx(conn);
    return !tx.exec_prepared(stmt::kRecordDeleted, sandbox_id, actor, now, std::string(reason)).empty();
}

bool record_deletion_failure(pqxx::connection& conn, const DeletionFailure& f) {
    // An empty worker id would match every unclaimed row's empty claim.
    if (f.worker_id.empty()) return false;
    pqxx::nontransaction tx(conn);
    return !tx.exec_prepared(stmt::kRecordFailure, f.sandbox_id, f.worker_id, f.now, f.next_attempt_at,
                             f.max_attempts, f.reason)
                .empty();
}

std::int64_t renew_deletion_claims(pqxx::connection& conn, std::span<const std::string> sandbox_ids,
                                   const std::string& worker_id, UnixSeconds lease_until) {
    if (worker_id.empty() || sandbox_ids.empty()) return 0;
    pqxx::nontransaction tx(conn);
    const auto ids =
        text_array_literal(sandbox_ids, [](const std::string& id) { return std::string_view(id); });
    return static_cast<std::int64_t>(
        tx.exec_prepared(stmt::kRenewClaims, ids, worker_id, lease_until).affected_rows());
}

std::int64_t release_deletion_claims(pqxx::connection& conn, std::span<const std::string> sandbox_ids,
                                     const std::string& worker_id) {
    if (worker_id.empty() || sandbox_ids.empty()) return 0;
    pqxx::nontransaction tx(conn);
    const auto ids =
        text_array_literal(sandbox_ids, [](const std::string& id) { return std::string_view(id); });
    return static_cast<std::int64_t>(tx.exec_prepared(stmt::kReleaseClaims, ids, worker_id).affected_rows());
}

std::int64_t remove_stale(pqxx::connection& conn, UnixSeconds stale_before, UnixSeconds now,
                          const std::string& actor) {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared1(stmt::kRemoveStale, stale_before, now, actor)[0].as<std::int64_t>();
}

std::int64_t bulk_remove(pqxx::connection& conn, SandboxStatus status, UnixSeconds now,
                         const std::string& actor) {
    // A participant's sandbox must never vanish under them; the admin API refuses it first.
    if (status == SandboxStatus::allocated)
        throw std::invalid_argument("bulk_remove refuses allocated sandboxes");
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared1(stmt::kBulkRemove, std::string(to_string(status)), now, actor)[0]
        .as<std::int64_t>();
}

std::vector<SandboxEvent> history(pqxx::connection& conn, const std::string& sandbox_id) {
    pqxx::nontransaction tx(conn);
    std::vector<SandboxEvent> events;
    for (const auto& row : tx.exec_prepared(stmt::kHistory, sandbox_id)) events.push_back(read_event(row));
    return events;
}

std::int64_t prune_history(pqxx::connection& conn, UnixSeconds before) {
    pqxx::nontransaction tx(conn);
    return static_cast<std::int64_t>(tx.exec_prepared(stmt::kPruneHistory, before).affected_rows());
}

bool try_start_job(pqxx::connection& conn, const JobStartRequest& r) {
    pqxx::nontransaction tx(conn);
    return !tx.exec_prepared(stmt::kStartJob, r.job, r.holder, r.now, r.interval_sec, r.lease_sec).empty();
}

bool renew_job_lease(pqxx::connection& conn, const std::string& job, const std::string& holder,
                     UnixSeconds lease_until, const std::string& progress) {
    if (holder.empty()) return false;
    pqxx::nontransaction tx(conn);
    return !tx.exec_prepared(stmt::kRenewJob, job, holder, lease_until, progress).empty();
}

bool finish_job(pqxx::connection& conn, const std::string& job, const std::string& holder, UnixSeconds now,
                bool ok, const std::string& result) {
    if (holder.empty()) return false;
    pqxx::nontransaction tx(conn);
    return !tx.exec_prepared(stmt::kFinishJob, job, holder, now, ok, result).empty();
}

void set_job_paused(pqxx::connection& conn, const std::string& job, bool paused) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared(stmt::kPauseJob, job, paused);
}

std::int64_t request_job_run(pqxx::connection& conn, const std::string& job, UnixSeconds now) {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared1(stmt::kRequestJob, job, now, kJobRunHistory)[0].as<std::int64_t>();
}

std::optional<JobRun> job_run(pqxx::connection& conn, const std::string& job, std::int64_t run_id) {
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec_prepared(stmt::kJobRun, job, run_id);
    if (rows.empty()) return std::nullopt;
    const auto& row = rows[0];
    JobRun r;
    r.id = row[0].as<std::int64_t>();
    r.job = row[1].as<std::string>();
    const auto status = row[2].as<std::string>();
    r.status = status == "finished"  ? JobRunStatus::finished
               : status == "running" ? JobRunStatus::running
                                     : JobRunStatus::queued;
    r.requested_at = row[3].as<std::int64_t>();
    r.started_at = optional_integer(row[4]);
    r.finished_at = optional_integer(row[5]);
    r.holder = row[6].as<std::string>();
    r.progress = row[7].as<std::string>();
    r.ok = row[8].as<bool>();
    r.result = row[9].as<std::string>();
    return r;
}

std::vector<JobState> job_states(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    std::vector<JobState> states;
    for (const auto& row : tx.exec_prepared(stmt::kJobStates)) {
        JobState s;
        s.job = row[0].as<std::string>();
        s.paused = row[1].as<bool>();
        s.run_requested = row[2].as<bool>();
        s.holder = row[3].as<std::string>();
        s.lease_until = row[4].as<std::int64_t>();
        s.next_run_at = row[5].as<std::int64_t>();
        s.last_started_at = optional_integer(row[6]);
        s.last_finished_at = optional_integer(row[7]);
        s.last_result = row[8].as<std::string>();
        s.last_ok = row[9].as<bool>();
        s.progress = row[10].as<std::string>();
        states.push_back(std::move(s));
    }
    return states;
}

}  // namespace broker::pg
