// The SQLite store's lifecycle and job-state operations: see lifecycle_ops.hpp. Like
// sandbox_ops.cpp, every UPDATE and DELETE repeats its precondition in its WHERE clause and
// every status change writes its sandbox_events row in the same transaction.
#include "store/sqlite/lifecycle_ops.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/errors.hpp"
#include "store/sqlite/sandbox_ops.hpp"
#include "store/sqlite/sandbox_sql.hpp"

namespace broker::sqlite {
namespace {

constexpr std::string_view kSyncActor = "sync";
constexpr std::string_view kExpiryActor = "auto_expiry";
constexpr std::string_view kCleanupActor = "cleanup";

// Runs a statement whose RETURNING gives one sandbox id per row.
std::vector<std::string> returned_ids(Query& q) {
    std::vector<std::string> ids;
    while (q.step()) ids.push_back(q.text(0));
    return ids;
}

std::vector<Sandbox> rows_of(Connection& conn, const std::vector<std::string>& ids) {
    std::vector<Sandbox> rows;
    rows.reserve(ids.size());
    for (const auto& id : ids) {
        if (auto row = find_sandbox(conn, id)) rows.push_back(std::move(*row));
    }
    return rows;
}

void record_removal(Connection& conn, const std::string& sandbox_id, UnixSeconds at, SandboxStatus from,
                    std::string_view actor, std::string_view reason) {
    auto q = conn.query(sql::kInsertRemovalEvent);
    q.bind(1, sandbox_id).bind(2, at).bind(3, to_string(from)).bind(4, actor).bind(5, reason);
    q.run();
}

std::optional<SandboxStatus> status_of(const Query& q, int column) {
    if (q.is_null(column)) return std::nullopt;
    auto parsed = parse_status(q.text(column));
    if (!parsed) throw StoreUnavailable("SQLite sandbox_events has unknown status '" + q.text(column) + "'");
    return parsed;
}

}  // namespace

UpsertSummary sync_part(Connection& conn, std::span<const ProviderSandbox> part, std::int64_t pass,
                        UnixSeconds now) {
    const UpsertSummary summary = upsert_provider_sandboxes(conn, part, now);
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& p : part) ids.push_back(p.sandbox_id);
    auto q = conn.query(sql::kStampSyncPass);
    q.bind(1, pass).bind(2, ids.dump());
    q.run();
    return summary;
}

std::vector<NameCursor> unstamped_available(Connection& conn, std::int64_t pass, const NameCursor& after,
                                            std::size_t limit) {
    auto q = conn.query(sql::kUnstampedAvailable);
    q.bind(1, pass)
        .bind(2, after.name)
        .bind(3, after.sandbox_id)
        .bind(4, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
    std::vector<NameCursor> rows;
    while (q.step()) rows.push_back({q.text(0), q.text(1)});
    return rows;
}

std::int64_t mark_unstamped_stale(Connection& conn, std::span<const std::string> sandbox_ids,
                                  std::int64_t pass, UnixSeconds now) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& id : sandbox_ids) ids.push_back(id);
    auto q = conn.query(sql::kMarkUnstampedStale);
    q.bind(1, pass).bind(2, now).bind(3, ids.dump());
    const auto stale = returned_ids(q);
    for (const auto& id : stale) {
        record_event(conn, id, now, SandboxStatus::available, SandboxStatus::stale, kSyncActor,
                     "not listed by provider");
    }
    return static_cast<std::int64_t>(stale.size());
}

std::vector<Sandbox> expire_allocations(Connection& conn, UnixSeconds now, const LeasePolicy& lease,
                                        int limit) {
    if (limit <= 0) return {};
    auto q = conn.query(sql::kExpire);
    q.bind(1, lease.expires_before_is_expired(now)).bind(2, now).bind(3, static_cast<std::int64_t>(limit));
    const auto ids = returned_ids(q);
    for (const auto& id : ids) {
        record_event(conn, id, now, SandboxStatus::allocated, SandboxStatus::pending_deletion, kExpiryActor,
                     "lease expired (lab duration + grace)");
    }
    return rows_of(conn, ids);
}

std::vector<Sandbox> claim_for_deletion(Connection& conn, const DeletionClaim& claim) {
    if (claim.limit <= 0) return {};
    std::vector<std::string> ids;
    {
        auto q = conn.query(sql::kClaimablePending);
        q.bind(1, claim.now).bind(2, static_cast<std::int64_t>(claim.limit));
        ids = returned_ids(q);
    }
    // Returned sandboxes first; failed ones on their slow schedule fill what is left.
    if (static_cast<int>(ids.size()) < claim.limit) {
        auto q = conn.query(sql::kClaimableFailed);
        q.bind(1, claim.now).bind(2, static_cast<std::int64_t>(claim.limit - static_cast<int>(ids.size())));
        for (auto& id : returned_ids(q)) ids.push_back(std::move(id));
    }
    std::vector<std::string> claimed;
    for (const auto& id : ids) {
        auto q = conn.query(sql::kClaim);
        q.bind(1, id).bind(2, claim.worker_id).bind(3, claim.lease_until).bind(4, claim.now);
        q.run();
        if (conn.changes() == 1) claimed.push_back(id);
    }
    return rows_of(conn, claimed);
}

bool record_deleted(Connection& conn, const std::string& sandbox_id, const std::string& actor,
                    UnixSeconds now, std::string_view reason) {
    auto row = find_sandbox(conn, sandbox_id);
    if (!row) return false;
    auto q = conn.query(sql::kRecordDeleted);
    q.bind(1, sandbox_id).bind(2, now);
    q.run();
    if (conn.changes() != 1) return false;
    record_event(conn, sandbox_id, now, row->status, SandboxStatus::deleted, actor, reason);
    return true;
}

bool record_deletion_failure(Connection& conn, const DeletionFailure& failure) {
    std::string status_text;
    std::string owner;
    int retries = 0;
    {
        auto q = conn.query(sql::kDeletionState);
        q.bind(1, failure.sandbox_id);
        if (!q.step()) return false;
        status_text = q.text(0);
        owner = q.text(1);
        retries = static_cast<int>(q.integer(2));
    }
    const auto status = parse_status(status_text);
    if (!status || owner != failure.worker_id || failure.worker_id.empty()) return false;
    if (*status != SandboxStatus::pending_deletion && *status != SandboxStatus::deletion_failed) return false;

    const int attempts = retries + 1;
    const SandboxStatus next = attempts >= failure.max_attempts ? SandboxStatus::deletion_failed : *status;
    auto q = conn.query(sql::kRecordFailure);
    q.bind(1, failure.sandbox_id).bind(2, failure.worker_id).bind(3, failure.now).bind(4, to_string(next));
    q.bind(5, static_cast<std::int64_t>(attempts)).bind(6, failure.next_attempt_at).bind(7, failure.reason);
    q.run();
    if (conn.changes() != 1) return false;
    if (next != *status) {
        record_event(
            conn, failure.sandbox_id, failure.now, *status, next, kCleanupActor,
            "attempt " + std::to_string(attempts) + " failed (" + failure.worker_id + "): " + failure.reason);
    }
    return true;
}

namespace {

// Runs `sql` (?1 id, ?2 worker, ?3 optional value) once per id; how many rows it changed.
std::int64_t per_claim(Connection& conn, std::string_view sql, std::span<const std::string> sandbox_ids,
                       const std::string& worker_id, std::optional<UnixSeconds> value) {
    // An empty worker id would match every unclaimed row's empty claim.
    if (worker_id.empty()) return 0;
    std::int64_t changed = 0;
    for (const auto& id : sandbox_ids) {
        auto q = conn.query(sql);
        q.bind(1, id).bind(2, worker_id);
        if (value) q.bind(3, *value);
        q.run();
        changed += conn.changes();
    }
    return changed;
}

}  // namespace

std::int64_t renew_deletion_claims(Connection& conn, std::span<const std::string> sandbox_ids,
                                   const std::string& worker_id, UnixSeconds lease_until) {
    return per_claim(conn, sql::kRenewClaim, sandbox_ids, worker_id, lease_until);
}

std::int64_t release_deletion_claims(Connection& conn, std::span<const std::string> sandbox_ids,
                                     const std::string& worker_id) {
    return per_claim(conn, sql::kReleaseClaim, sandbox_ids, worker_id, std::nullopt);
}

std::int64_t remove_stale(Connection& conn, UnixSeconds stale_before, UnixSeconds now,
                          const std::string& actor, int limit) {
    auto q = conn.query(limit > 0 ? sql::kRemoveStaleChunk : sql::kRemoveStale);
    q.bind(1, stale_before);
    if (limit > 0) q.bind(2, static_cast<std::int64_t>(limit));
    const auto ids = returned_ids(q);
    for (const auto& id : ids)
        record_removal(conn, id, now, SandboxStatus::stale, actor, "stale past the grace period");
    return static_cast<std::int64_t>(ids.size());
}

std::int64_t bulk_remove(Connection& conn, SandboxStatus status, UnixSeconds now, const std::string& actor,
                         int limit) {
    // A participant's sandbox must never vanish under them; the admin API refuses it first.
    if (status == SandboxStatus::allocated)
        throw std::invalid_argument("bulk_remove refuses allocated sandboxes");
    auto q = conn.query(limit > 0 ? sql::kBulkRemoveChunk : sql::kBulkRemove);
    q.bind(1, to_string(status));
    if (limit > 0) q.bind(2, static_cast<std::int64_t>(limit));
    const auto ids = returned_ids(q);
    for (const auto& id : ids) record_removal(conn, id, now, status, actor, "bulk remove");
    return static_cast<std::int64_t>(ids.size());
}

std::vector<SandboxEvent> history(Connection& conn, const std::string& sandbox_id) {
    auto q = conn.query(sql::kHistory);
    q.bind(1, sandbox_id);
    std::vector<SandboxEvent> events;
    while (q.step()) {
        SandboxEvent e;
        e.id = q.integer(0);
        e.sandbox_id = q.text(1);
        e.at = q.integer(2);
        e.from = status_of(q, 3);
        e.to = status_of(q, 4);
        e.actor = q.text(5);
        e.reason = q.text(6);
        events.push_back(std::move(e));
    }
    return events;
}

std::int64_t prune_history(Connection& conn, UnixSeconds before, int limit) {
    auto q = conn.query(limit > 0 ? sql::kPruneHistoryChunk : sql::kPruneHistory);
    q.bind(1, before);
    if (limit > 0) q.bind(2, static_cast<std::int64_t>(limit));
    q.run();
    return conn.changes();
}

bool try_start_job(Connection& conn, const JobStartRequest& request) {
    // An empty holder would read as "free" and could never finish its run.
    if (request.holder.empty()) return false;
    {
        auto q = conn.query(sql::kEnsureJob);
        q.bind(1, request.job).bind(2, request.now);
        q.run();
    }
    {
        auto q = conn.query(sql::kStartJob);
        q.bind(1, request.job).bind(2, request.holder).bind(3, request.now);
        q.bind(4, request.now + request.lease_sec).bind(5, request.now + request.interval_sec);
        q.run();
        if (conn.changes() != 1) return false;
    }
    auto q = conn.query(sql::kAdoptRuns);
    q.bind(1, request.job).bind(2, request.holder).bind(3, request.now);
    q.run();
    return true;
}

bool renew_job_lease(Connection& conn, const std::string& job, const std::string& holder, UnixSeconds now,
                     UnixSeconds lease_until, const std::string& progress) {
    if (holder.empty()) return false;
    {
        auto q = conn.query(sql::kRenewJob);
        q.bind(1, job).bind(2, holder).bind(3, now).bind(4, lease_until).bind(5, progress);
        q.run();
        if (conn.changes() != 1) return false;
    }
    auto q = conn.query(sql::kRunProgress);
    q.bind(1, job).bind(2, holder).bind(3, progress);
    q.run();
    return true;
}

bool finish_job(Connection& conn, const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                const std::string& result) {
    if (holder.empty()) return false;
    const auto bind_all = [&](Query& q) {
        q.bind(1, job).bind(2, holder).bind(3, now).bind(4, static_cast<std::int64_t>(ok)).bind(5, result);
    };
    {
        auto q = conn.query(sql::kFinishJob);
        bind_all(q);
        q.run();
        if (conn.changes() != 1) return false;
    }
    {
        auto q = conn.query(sql::kFinishRuns);
        bind_all(q);
        q.run();
    }
    auto q = conn.query(sql::kRequeueJob);
    q.bind(1, job);
    q.run();
    return true;
}

void set_job_paused(Connection& conn, const std::string& job, bool paused, UnixSeconds now) {
    auto q = conn.query(sql::kPauseJob);
    q.bind(1, job).bind(2, now).bind(3, static_cast<std::int64_t>(paused));
    q.run();
}

std::int64_t request_job_run(Connection& conn, const std::string& job, UnixSeconds now) {
    {
        auto q = conn.query(sql::kRequestRun);
        q.bind(1, job).bind(2, now);
        q.run();
    }
    std::int64_t id = 0;
    {
        auto q = conn.query(sql::kInsertRun);
        q.bind(1, job).bind(2, now);
        if (!q.step()) throw StoreUnavailable("SQLite job_runs insert returned no id");
        id = q.integer(0);
    }
    auto q = conn.query(sql::kPruneRuns);
    q.bind(1, job).bind(2, static_cast<std::int64_t>(kJobRunHistory));
    q.run();
    return id;
}

std::optional<JobRun> job_run(Connection& conn, const std::string& job, std::int64_t run_id) {
    auto q = conn.query(sql::kJobRun);
    q.bind(1, job).bind(2, run_id);
    if (!q.step()) return std::nullopt;
    JobRun r;
    r.id = q.integer(0);
    r.job = q.text(1);
    const std::string status = q.text(2);
    r.status = status == "finished"  ? JobRunStatus::finished
               : status == "running" ? JobRunStatus::running
                                     : JobRunStatus::queued;
    r.requested_at = q.integer(3);
    r.started_at = q.optional_integer(4);
    r.finished_at = q.optional_integer(5);
    r.holder = q.text(6);
    r.progress = q.text(7);
    r.ok = q.integer(8) != 0;
    r.result = q.text(9);
    return r;
}

std::vector<JobState> job_states(Connection& conn) {
    auto q = conn.query(sql::kJobStates);
    std::vector<JobState> states;
    while (q.step()) {
        JobState s;
        s.job = q.text(0);
        s.paused = q.integer(1) != 0;
        s.run_requested = q.integer(2) != 0;
        s.holder = q.text(3);
        s.lease_until = q.integer(4);
        s.next_run_at = q.integer(5);
        s.last_started_at = q.optional_integer(6);
        s.last_finished_at = q.optional_integer(7);
        s.last_result = q.text(8);
        s.last_ok = q.integer(9) != 0;
        s.progress = q.text(10);
        states.push_back(std::move(s));
    }
    return states;
}

}  // namespace broker::sqlite
