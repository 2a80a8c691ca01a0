// The Worker and run-now: see worker.hpp.
#include "jobs/worker.hpp"

#include <unistd.h>

#include <array>
#include <random>

#include "obs/json_log.hpp"

namespace broker {
namespace {

constexpr std::string_view kLogger = "broker.jobs.worker";

// Starts the job's run if its lease is ours to take, runs it, records the result. Returns the
// result when it ran. Store failures are logged and answered as "did not run".
std::optional<JobRunResult> run_if_due(JobStateStore& store, const Clock& clock, Job& job,
                                       const std::string& holder, std::chrono::seconds interval,
                                       std::chrono::seconds lease) {
    const std::string name(job.name());
    if (!store.try_start_job({name, holder, clock.now(), interval.count(), lease.count()}))
        return std::nullopt;
    JobRunResult result = job.run_once();
    if (!store.finish_job(name, holder, clock.now(), result.ok, result.to_json().dump())) {
        log_event(spdlog::level::warn, kLogger, "job lease lost before the run finished; result not recorded",
                  {.action = name, .outcome = "lease_lost", .extra = {{"worker_id", holder}}});
    }
    return result;
}

}  // namespace

std::string make_worker_id() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0')
        host = {'w', 'o', 'r', 'k', 'e', 'r'};
    std::random_device device;
    const std::uint64_t random = (static_cast<std::uint64_t>(device()) << 32) | device();
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(random));
    return std::string(host.data()) + "-" + std::to_string(getpid()) + "-" + std::string(suffix, 8);
}

Worker::Worker(JobStateStore& store, const Clock& clock, std::vector<ScheduledJob> jobs,
               WorkerOptions options)
    : store_(store),
      clock_(clock),
      jobs_(std::move(jobs)),
      options_(std::move(options)),
      id_(options_.worker_id.empty() ? make_worker_id() : options_.worker_id) {}

Worker::~Worker() {
    stop();
}

void Worker::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { loop(); });
}

void Worker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    if (options_.shutdown) options_.shutdown->stop();
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Worker::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_all();
}

bool Worker::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

std::uint64_t Worker::runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
}

std::uint64_t Worker::passes() const {
    std::lock_guard lock(mutex_);
    return passes_;
}

int Worker::run_due_jobs() {
    int ran = 0;
    for (const auto& scheduled : jobs_) {
        if (stopping()) break;
        try {
            if (run_if_due(store_, clock_, *scheduled.job, id_, scheduled.interval, options_.job_lease)) {
                ++ran;
                std::lock_guard lock(mutex_);
                ++runs_;
            }
        } catch (const std::exception& e) {
            // The store is down: the lease is not ours or will run out; try again next poll.
            log_event(spdlog::level::err, kLogger, "could not schedule job",
                      {.action = std::string(scheduled.job->name()), .outcome = "error", .error = e.what()});
        }
    }
    std::lock_guard lock(mutex_);
    ++passes_;
    return ran;
}

void Worker::loop() {
    log_event(spdlog::level::info, kLogger, "worker started",
              {.extra = {{"worker_id", id_}, {"jobs", jobs_.size()}}});
    while (!stopping()) {
        run_due_jobs();
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.poll, [this] { return stopping_ || woken_; });
        woken_ = false;
    }
    log_event(spdlog::level::info, kLogger, "worker stopped", {.extra = {{"worker_id", id_}}});
}

RunNowResult run_job_now(JobStateStore& store, const Clock& clock, Job& job, const std::string& holder,
                         std::chrono::seconds interval, std::chrono::seconds lease) {
    const std::string name(job.name());
    const auto is_paused = [&] {
        for (const auto& state : store.job_states()) {
            if (state.job == name) return state.paused;
        }
        return false;
    };
    // Checked first so a refused request does not stay queued and fire on resume.
    if (is_paused()) return {RunNowOutcome::paused, std::nullopt};
    store.request_job_run(name, clock.now());
    if (auto result = run_if_due(store, clock, job, holder, interval, lease)) {
        return {RunNowOutcome::ran, std::move(result)};
    }
    // Paused in between, or running elsewhere: that run (or the next after it) serves the request.
    return {is_paused() ? RunNowOutcome::paused : RunNowOutcome::busy, std::nullopt};
}

}  // namespace broker
