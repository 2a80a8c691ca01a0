// The Worker: keeps the jobs running on schedule, each job on a thread of its own, so a long
// cleanup never holds back a sync or an expiry. For each job it asks the
// JobStateStore for the job's lease (so among any number of worker processes sharing the
// store, one runs it per interval, and pause / run-now act on all of them), runs it, and
// records the result; then it waits a short, stoppable poll before trying again. While a run
// goes on, a heartbeat renews its lease (and the job's own claims) and writes its progress;
// a run whose lease was lost stops after the item in hand. Runs asked for through the admin
// API start on a thread of their own, so a long cleanup does not hold up a requested sync.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job.hpp"
#include "obs/broker_metrics.hpp"
#include "runtime/stoppable_sleep.hpp"
#include "store/event_store.hpp"
#include "store/job_state_store.hpp"

namespace broker {

// A unique id for this worker process's leases and claims: hostname-pid-random.
std::string make_worker_id();

struct ScheduledJob {
    Job* job = nullptr;
    std::chrono::seconds interval{300};
};

struct WorkerOptions {
    std::string worker_id;               // empty: make_worker_id()
    std::chrono::seconds job_lease{30};  // JOB_LEASE_SEC
    // How often a run renews its lease and reports progress; zero: a third of job_lease.
    std::chrono::milliseconds heartbeat{0};
    std::chrono::milliseconds poll{1000};  // how often due jobs are looked for
    // Stopped together with the worker, so waits inside jobs (cleanup delays, provider
    // retries) end at once. May be null.
    StoppableSleep* shutdown = nullptr;
    // Where each successful run's time is recorded (broker_job_last_success_timestamp_seconds).
    // May be null.
    JobMetrics* metrics = nullptr;
    // Where a failed run writes its job.failed event. May be null.
    EventStore* events = nullptr;
};

class Worker {
  public:
    // The jobs and the store outlive the worker. Time decisions (due, leases) come from `clock`.
    Worker(JobStateStore& store, const Clock& clock, std::vector<ScheduledJob> jobs, WorkerOptions options);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();  // stop()

    // Starts the threads, one per job. Once only.
    void start();
    // Stops taking new work, lets each job in hand finish its current item, joins the threads.
    // Returns within about the time one provider call takes.
    void stop();
    // Ends the current poll wait early (after a pause/resume/run-now, or a moved test clock).
    void wake();
    // Tries to run the job now on a thread of its own (an operator asked for a run, already
    // recorded in the store): under the holder name `<id>-admin`, if its lease is free. When
    // it is not (running elsewhere, or here), the recorded request is served by the lease
    // holder's next run. False for a job this worker does not have.
    bool start_run_now(std::string_view job_name);

    // One pass over the jobs on the calling thread: each job whose lease this worker gets is
    // run and finished. Returns how many ran. (The threads each do this for their own job.)
    int run_due_jobs();

    const std::string& id() const { return id_; }
    // Runs completed by this worker since it was made, and passes over the job list (the
    // fewest any job's thread has made: every job has been looked at that often).
    std::uint64_t runs() const;
    std::uint64_t passes() const;

  private:
    struct Slot;  // a job with what keeps two runs of it in this process apart
    void loop(Slot& slot);
    bool try_slot(Slot& slot);
    bool stopping() const;
    bool run_slot(Slot& slot, const std::string& holder);
    // Writes the run's job.failed event (options_.events).
    void report_failure(const JobRunResult& result, const std::string& holder);

    JobStateStore& store_;
    const Clock& clock_;
    WorkerOptions options_;
    std::string id_;
    std::vector<std::unique_ptr<Slot>> slots_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool started_ = false;
    std::uint64_t wakes_ = 0;  // wake() calls: each job's thread looks again
    std::uint64_t runs_ = 0;
    struct RunNowThread {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::vector<RunNowThread> run_now_threads_;
    std::vector<std::thread> threads_;  // one per job
};

// The lease settings of one run.
struct LeaseSettings {
    std::chrono::seconds lease{30};
    std::chrono::milliseconds heartbeat{10000};
};

// Starts the job's run if its lease is ours to take, runs it with a heartbeat renewing the
// lease (and the job's claims, and writing progress) every `heartbeat`, records the result.
// Returns the result when it ran. `stop` (may be null) ends the heartbeat's waits at shutdown.
std::optional<JobRunResult> run_under_lease(JobStateStore& store, const Clock& clock, Job& job,
                                            const std::string& holder, std::chrono::seconds interval,
                                            const LeaseSettings& lease);

}  // namespace broker
