// The operators' side of the broker (the admin API): browse and count the pool, see one
// sandbox's history, remove sandboxes from the store in bulk, and control the background jobs
// (list, pause, resume, run now). Input is validated here and refused with a readable reason
// (a value, never an exception); every change is one atomic store call or a job run under the
// job's lease, so it is safe beside any number of API replicas and workers.
//
// Sits above jobs/: running a job now is the jobs' own code under their lease.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "jobs/job.hpp"
#include "jobs/job_config.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/store.hpp"

namespace broker {

// Why a request was refused: the code picks the HTTP status, the message is for the operator.
struct Refusal {
    ErrorCode code = ErrorCode::invalid_request;
    std::string message;
};

// A value or the reason there is none.
template <class T>
struct Checked {
    std::optional<T> value;
    std::optional<Refusal> refusal;

    static Checked ok(T v) { return {std::move(v), std::nullopt}; }
    static Checked refuse(ErrorCode code, std::string message) {
        return {std::nullopt, Refusal{code, std::move(message)}};
    }
};

// Every job's name with its configured interval, in the order a worker runs them.
std::vector<std::pair<std::string, std::chrono::seconds>> job_intervals(const JobConfig& config);

// Jobs this process can run itself (the `run` and `worker` processes), how to start a run
// asked for (off the request: it answers at once), and how to nudge its worker after a pause,
// resume or run request. An API-only process has none.
struct LocalJobs {
    std::vector<Job*> jobs;
    std::function<void(const std::string&)> start_run;  // may be empty
    std::function<void()> wake;                         // may be empty
    // The store admits no other process (the embedded SQLite file): a job that does not run
    // here runs nowhere, so asking for it is refused instead of queued forever.
    bool exclusive_store = false;
};

struct AdminPage {
    std::vector<Sandbox> items;
    std::optional<std::string> next_cursor;  // nothing on the last page
};

struct SandboxDetail {
    Sandbox sandbox;
    std::vector<SandboxEvent> history;  // oldest first
};

// What the admin API tells about one job: schedule, pause, lease and last run.
struct JobView {
    std::string name;
    std::chrono::seconds interval{0};
    bool runs_here = false;  // this process has the job (its worker runs it)
    JobState state;          // defaults when the job never ran and was never paused
    bool known_to_store = false;
};

// A run asked for: as recorded in the store, and whether this process started it itself.
struct JobRunReport {
    JobRun run;
    bool runs_here = false;  // this process has the job; otherwise a worker process picks it up
};

class AdminService {
  public:
    // The three store interfaces are usually one object. `local` may hold no jobs.
    AdminService(Store& store, LifecycleStore& lifecycle, JobStateStore& job_states, const Clock& clock,
                 JobConfig config, LocalJobs local);

    static constexpr int kDefaultLimit = 100;
    static constexpr int kMaxLimit = 1000;

    // Validates `status`, `limit` and `cursor` as given in the query (nothing = absent).
    // No status: every status but deleted.
    static Checked<ListQuery> parse_list_query(const std::optional<std::string>& status,
                                               const std::optional<std::string>& limit,
                                               const std::optional<std::string>& cursor);
    // One page; its cursor continues after its last row.
    AdminPage list(const ListQuery& query);

    // The sandbox and its transitions; nothing when the store has no such sandbox.
    std::optional<SandboxDetail> sandbox(const std::string& sandbox_id);

    StatusCounts stats();

    // A status that may be removed in bulk: present, known, and not `allocated` (a participant's
    // sandbox must never vanish under them).
    static Checked<SandboxStatus> parse_bulk_delete_status(const std::optional<std::string>& status);
    // Removes every sandbox in `status` from the store (never the provider). Returns how many.
    std::int64_t bulk_delete(SandboxStatus status);

    // A grace period in hours (fractions allowed, 0 to a year); absent: the configured one.
    Checked<std::chrono::seconds> parse_grace_hours(const std::optional<std::string>& hours) const;
    // Removes sandboxes stale for longer than `grace` now, outside the job's schedule.
    JobRunResult delete_stale(std::chrono::seconds grace);

    // The job's name as known (a refusal with job_not_found otherwise).
    static Checked<std::string> check_job_name(std::string_view name);

    // Every job, in run order.
    std::vector<JobView> jobs();
    JobView job(const std::string& name);
    // Pauses or resumes the job for every worker; returns its view after the change.
    JobView set_paused(const std::string& name, bool paused);
    // Records a run of the job (queued, with an id) and returns at once: this process starts
    // it on a thread of its own when it has the job and its lease is free; otherwise the
    // lease holder, or the worker process that has the job, runs it next. Refused
    // (job_paused) while the job is paused.
    Checked<JobRunReport> run(const std::string& name);
    // A run asked for earlier: queued, running (with its progress) or finished (with its
    // result). Nothing when the store has no such run of that job.
    std::optional<JobRun> run_status(const std::string& name, std::int64_t run_id);
    // `wait` as given in the query: whole seconds from 0 to kMaxRunWaitSec; absent: 0.
    static constexpr int kMaxRunWaitSec = 60;
    static Checked<std::chrono::seconds> parse_run_wait(const std::optional<std::string>& wait);
    // A run id as given in the path.
    static Checked<std::int64_t> parse_run_id(std::string_view text);

    // The service's clock: answers state times relative to it.
    UnixSeconds now() const { return clock_.now(); }

  private:
    Job* local_job(std::string_view name) const;
    void wake() const;

    Store& store_;
    LifecycleStore& lifecycle_;
    JobStateStore& job_states_;
    const Clock& clock_;
    JobConfig config_;
    LocalJobs local_;
};

}  // namespace broker
