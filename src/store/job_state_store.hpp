// Shared state of the background jobs: one row per job decides which worker process runs it
// this interval (a lease), whether it is paused, and what its last run did. Every method is
// one atomic conditional change, so any number of workers can share one store.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace broker {

struct JobState {
    std::string job;
    bool paused = false;
    bool run_requested = false;  // an operator asked for a run before the next interval
    std::string holder;          // worker holding the lease; empty when free
    UnixSeconds lease_until = 0;
    UnixSeconds next_run_at = 0;
    std::optional<UnixSeconds> last_started_at;
    std::optional<UnixSeconds> last_finished_at;
    std::string last_result;  // a short JSON summary or error message of the last run
    bool last_ok = true;
};

struct JobStartRequest {
    std::string job;
    std::string holder;       // this worker's id
    UnixSeconds now = 0;
    std::int64_t interval_sec = 300;
    std::int64_t lease_sec = 300;  // how long the run may take before others may start it
};

class JobStateStore {
public:
    virtual ~JobStateStore() = default;

    // Atomically starts a run: succeeds when the job is not paused, no live lease is held by
    // another worker, and the run is due (next_run_at <= now, or a run was requested). On
    // success sets holder, lease_until = now + lease, last_started_at = now,
    // next_run_at = now + interval, and clears run_requested. Creates the row on first use.
    virtual bool try_start_job(const JobStartRequest& request) = 0;

    // Ends the holder's run: releases the lease and records the result. False when the holder
    // lost the lease meanwhile (the result is then not recorded).
    virtual bool finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                            const std::string& result) = 0;

    // Pauses or resumes a job for every worker (creates the row if needed).
    virtual void set_job_paused(const std::string& job, bool paused, UnixSeconds now) = 0;

    // Asks for a run at the next opportunity, before its interval (creates the row if needed).
    virtual void request_job_run(const std::string& job, UnixSeconds now) = 0;

    // Every job row, ordered by name.
    virtual std::vector<JobState> job_states() = 0;
};

}  // namespace broker
