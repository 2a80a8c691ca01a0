// The LifecycleStore and JobStateStore operations as SQL on one PostgreSQL connection. Each
// is one statement (its own transaction) that changes rows only where their status, claim or
// lease still allows it, recording transitions in the same statement.
#pragma once

#include <optional>
#include <pqxx/connection>
#include <span>
#include <string>
#include <vector>

#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"

namespace broker::pg {

std::vector<Sandbox> expire_allocations(pqxx::connection& conn, UnixSeconds now, const LeasePolicy& lease,
                                        int limit);
std::vector<Sandbox> claim_for_deletion(pqxx::connection& conn, const DeletionClaim& claim);
bool record_deleted(pqxx::connection& conn, const std::string& sandbox_id, const std::string& actor,
                    UnixSeconds now, std::string_view reason);
bool record_deletion_failure(pqxx::connection& conn, const DeletionFailure& failure);
std::int64_t renew_deletion_claims(pqxx::connection& conn, std::span<const std::string> sandbox_ids,
                                   const std::string& worker_id, UnixSeconds lease_until);
std::int64_t release_deletion_claims(pqxx::connection& conn, std::span<const std::string> sandbox_ids,
                                     const std::string& worker_id);
std::int64_t remove_stale(pqxx::connection& conn, UnixSeconds stale_before, UnixSeconds now,
                          const std::string& actor);
std::int64_t bulk_remove(pqxx::connection& conn, SandboxStatus status, UnixSeconds now,
                         const std::string& actor);
std::vector<SandboxEvent> history(pqxx::connection& conn, const std::string& sandbox_id);
std::int64_t prune_history(pqxx::connection& conn, UnixSeconds before);

bool try_start_job(pqxx::connection& conn, const JobStartRequest& request);
bool renew_job_lease(pqxx::connection& conn, const std::string& job, const std::string& holder,
                     UnixSeconds lease_until, const std::string& progress);
bool finish_job(pqxx::connection& conn, const std::string& job, const std::string& holder, UnixSeconds now,
                bool ok, const std::string& result);
void set_job_paused(pqxx::connection& conn, const std::string& job, bool paused);
std::int64_t request_job_run(pqxx::connection& conn, const std::string& job, UnixSeconds now);
std::optional<JobRun> job_run(pqxx::connection& conn, const std::string& job, std::int64_t run_id);
std::vector<JobState> job_states(pqxx::connection& conn);

}  // namespace broker::pg
