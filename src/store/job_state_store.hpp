// Shared state of the background jobs: one row per job decides which worker process runs it
// this interval (a lease), whether it is paused, and what its last run did. Every method is
// one atomic conditional change, so any number of workers can share one store.
#pragma once

#include <cstdint>
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
    std::string progress;  // the running run's counts so far (JSON), as its holder last reported
};

// One run an operator asked for, from the request to its result. Every process sharing the
// store sees it: whichever worker runs the job next takes the queued runs of that job along
// ("adopts" them) and records its result in them.
enum class JobRunStatus { queued, running, finished };

struct JobRun {
    std::int64_t id = 0;
    std::string job;
    JobRunStatus status = JobRunStatus::queued;
    UnixSeconds requested_at = 0;
    std::optional<UnixSeconds> started_at;
    std::optional<UnixSeconds> finished_at;
    std::string holder;    // the worker running (or that ran) it; empty while queued
    std::string progress;  // counts so far (JSON) while running; empty when none reported
    bool ok = true;        // when finished
    std::string result;    // the run's JSON summary when finished
};

// Runs kept per job: requesting one more forgets the oldest finished ones.
inline constexpr int kJobRunHistory = 20;

struct JobStartRequest {
    std::string job;
    std::string holder;  // this worker's id
    UnixSeconds now = 0;
    std::int64_t interval_sec = 300;
    std::int64_t lease_sec = 300;  // how long the run may take before others may start it
};

class JobStateStore {
  public:
    virtual ~JobStateStore() = default;

    // Atomically starts a run: succeeds when the job is not paused, no live lease is held by
    // another worker, and the run is due (next_run_at <= now, a run was requested, or the
    // previous run's holder let its lease run out without finishing: a killed worker's run is
    // done again as soon as its lease ends). On success sets holder, lease_until = now + lease,
    // last_started_at = now, next_run_at = now + interval, clears run_requested and progress,
    // and adopts the job's requested runs (queued ones, and running ones of a holder that
    // lost the lease): they become running under this holder. Creates the row on first use.
    virtual bool try_start_job(const JobStartRequest& request) = 0;

    // The holder's heartbeat: extends its lease to `lease_until` and keeps `progress` (JSON
    // counts so far) on the job and its adopted runs. False when the holder no longer holds
    // the lease (taken over, or released): its run should stop after the item in hand.
    virtual bool renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds now,
                                 UnixSeconds lease_until, const std::string& progress) = 0;

    // Ends the holder's run: releases the lease, records the result on the job and on the runs
    // it adopted. Runs requested meanwhile stay queued and the job stays requested, so it runs
    // again right after. False when the holder lost the lease meanwhile (nothing recorded).
    virtual bool finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                            const std::string& result) = 0;

    // Pauses or resumes a job for every worker (creates the row if needed).
    virtual void set_job_paused(const std::string& job, bool paused, UnixSeconds now) = 0;

    // Asks for a run at the next opportunity, before its interval (creates the row if needed),
    // and records it as a queued run. Returns the run's id (unique across jobs). Keeps at
    // most kJobRunHistory runs of the job, forgetting the oldest finished ones.
    virtual std::int64_t request_job_run(const std::string& job, UnixSeconds now) = 0;

    // One requested run of the job; nothing when unknown (or forgotten).
    virtual std::optional<JobRun> job_run(const std::string& job, std::int64_t run_id) = 0;

    // Every job row, ordered by name.
    virtual std::vector<JobState> job_states() = 0;
};

}  // namespace broker
