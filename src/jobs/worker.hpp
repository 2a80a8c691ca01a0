// The Worker: one thread that keeps the jobs running on schedule. For each job it asks the
// JobStateStore for the job's lease (so among any number of worker processes sharing the
// store, one runs it per interval, and pause / run-now act on all of them), runs it, and
// records the result; then it waits a short, stoppable poll before trying again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job.hpp"
#include "provider/backoff.hpp"
#include "store/job_state_store.hpp"

namespace broker {

// A unique id for this worker process's leases and claims: hostname-pid-random.
std::string make_worker_id();

struct ScheduledJob {
    Job* job = nullptr;
    std::chrono::seconds interval{300};
};

struct WorkerOptions {
    std::string worker_id;                 // empty: make_worker_id()
    std::chrono::seconds job_lease{900};   // JOB_LEASE_SEC
    std::chrono::milliseconds poll{1000};  // how often due jobs are looked for
    // Stopped together with the worker, so waits inside jobs (cleanup delays, provider
    // retries) end at once. May be null.
    StoppableSleep* shutdown = nullptr;
};

class Worker {
  public:
    // The jobs and the store outlive the worker. Time decisions (due, leases) come from `clock`.
    Worker(JobStateStore& store, const Clock& clock, std::vector<ScheduledJob> jobs, WorkerOptions options);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();  // stop()

    // Starts the thread. Once only.
    void start();
    // Stops taking new work, lets the job in hand finish its current item, joins the thread.
    // Returns within about the time one provider call takes.
    void stop();
    // Ends the current poll wait early (after a pause/resume/run-now, or a moved test clock).
    void wake();

    // One pass over the jobs on the calling thread: each job whose lease this worker gets is
    // run and finished. Returns how many ran. What the thread does in a loop.
    int run_due_jobs();

    const std::string& id() const { return id_; }
    // Runs completed by this worker since it was made, and passes over the job list.
    std::uint64_t runs() const;
    std::uint64_t passes() const;

  private:
    void loop();
    bool stopping() const;

    JobStateStore& store_;
    const Clock& clock_;
    std::vector<ScheduledJob> jobs_;
    WorkerOptions options_;
    std::string id_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool woken_ = false;
    std::uint64_t runs_ = 0;
    std::uint64_t passes_ = 0;
    std::thread thread_;
};

enum class RunNowOutcome {
    ran,     // the job ran here; see the result
    busy,    // another worker holds its lease (running right now); the request stays queued for after it
    paused,  // paused jobs do not run, not even on request
};

struct RunNowResult {
    RunNowOutcome outcome = RunNowOutcome::busy;
    std::optional<JobRunResult> result;  // set when ran
};

// The admin API's "run now and report what happened": takes the job's lease like a worker
// would (after asking for a run, so the interval does not stand in the way), runs the job on
// the calling thread, records the result. Blocking; call it off the I/O threads.
RunNowResult run_job_now(JobStateStore& store, const Clock& clock, Job& job, const std::string& holder,
                         std::chrono::seconds interval, std::chrono::seconds lease);

}  // namespace broker
