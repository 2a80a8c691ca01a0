// The LifecycleStore and JobStateStore operations as SQL on one connection. Writes expect to
// run inside the writer's transaction (the group-commit batch), so each change is atomic
// with its event records; reads run on a reader connection.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

// The sync (LifecycleStore::sync_part, finish_sync): one part upserted and stamped with the
// pass; at the end, a page at a time, the available sandboxes the pass did not stamp (on a
// reader connection, at most `limit` after `after` in name order; `limit` 0: all), then those
// marked stale, each only if still available and unstamped (on the writer). Returns how many
// it marked.
UpsertSummary sync_part(Connection& conn, std::span<const ProviderSandbox> part, std::int64_t pass,
                        UnixSeconds now);
struct NameCursor {
    std::string name;
    std::string sandbox_id;
};
std::vector<NameCursor> unstamped_available(Connection& conn, std::int64_t pass, const NameCursor& after,
                                            std::size_t limit);
std::int64_t mark_unstamped_stale(Connection& conn, std::span<const std::string> sandbox_ids,
                                  std::int64_t pass, UnixSeconds now);
std::vector<Sandbox> expire_allocations(Connection& conn, UnixSeconds now, const LeasePolicy& lease,
                                        int limit);
std::vector<Sandbox> claim_for_deletion(Connection& conn, const DeletionClaim& claim);
bool record_deleted(Connection& conn, const std::string& sandbox_id, const std::string& actor,
                    UnixSeconds now, std::string_view reason);
bool record_deletion_failure(Connection& conn, const DeletionFailure& failure);
std::int64_t renew_deletion_claims(Connection& conn, std::span<const std::string> sandbox_ids,
                                   const std::string& worker_id, UnixSeconds lease_until);
std::int64_t release_deletion_claims(Connection& conn, std::span<const std::string> sandbox_ids,
                                     const std::string& worker_id);
// With `limit` > 0, at most that many rows (one chunk); otherwise all of them.
std::int64_t remove_stale(Connection& conn, UnixSeconds stale_before, UnixSeconds now,
                          const std::string& actor, int limit = 0);
std::int64_t bulk_remove(Connection& conn, SandboxStatus status, UnixSeconds now, const std::string& actor,
                         int limit = 0);
std::vector<SandboxEvent> history(Connection& conn, const std::string& sandbox_id);
std::int64_t prune_history(Connection& conn, UnixSeconds before, int limit = 0);

bool try_start_job(Connection& conn, const JobStartRequest& request);
bool renew_job_lease(Connection& conn, const std::string& job, const std::string& holder, UnixSeconds now,
                     UnixSeconds lease_until, const std::string& progress);
bool finish_job(Connection& conn, const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                const std::string& result);
void set_job_paused(Connection& conn, const std::string& job, bool paused, UnixSeconds now);
std::int64_t request_job_run(Connection& conn, const std::string& job, UnixSeconds now);
std::optional<JobRun> job_run(Connection& conn, const std::string& job, std::int64_t run_id);
std::vector<JobState> job_states(Connection& conn);

}  // namespace broker::sqlite
