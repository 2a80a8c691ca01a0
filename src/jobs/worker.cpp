// The Worker and run-now: see worker.hpp.
#include "jobs/worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "obs/json_log.hpp"
#include "store/outbox.hpp"

namespace broker {
namespace {

constexpr std::string_view kLogger = "broker.jobs.worker";

// The RunControl of a leased run: a thread renewing the job's lease every `heartbeat`, writing
// the progress the run reported, and renewing what the job holds (on_heartbeat). The lease is
// lost when the store says another holds it, or when it could not be renewed before it ran out.
class Heartbeat final : public RunControl {
  public:
    Heartbeat(JobStateStore& store, const Clock& clock, Job& job, std::string holder, LeaseSettings lease)
        : store_(store),
          clock_(clock),
          job_(job),
          name_(job.name()),
          holder_(std::move(holder)),
          lease_(lease),
          lease_until_(clock.now() + lease.lease.count()),
          thread_([this] { loop(); }) {}
    ~Heartbeat() override {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;

    bool keep_going() const override { return !lost_.load(); }
    void renew_now() override {
        std::unique_lock lock(mutex_);
        const std::string progress = progress_;
        lock.unlock();
        beat(progress);
    }
    void report_progress(const std::map<std::string, std::int64_t>& counts) override {
        std::string text = nlohmann::json(counts).dump();
        std::lock_guard lock(mutex_);
        progress_ = std::move(text);
    }

  private:
    void loop() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, lease_.heartbeat, [this] { return done_; })) {
            const std::string progress = progress_;
            lock.unlock();
            beat(progress);
            lock.lock();
        }
    }

    // Both the run thread (renew_now) and the heartbeat thread beat: one at a time.
    void beat(const std::string& progress) {
        std::lock_guard beating(beat_mutex_);
        if (lost_) return;
        // What the job holds first, then the job's lease: a claim never outlives the lease, so
        // whoever takes over a killed worker's job finds its claims run out too.
        job_.on_heartbeat();
        const UnixSeconds now = clock_.now();
        try {
            if (store_.renew_job_lease(name_, holder_, now, now + lease_.lease.count(), progress)) {
                lease_until_ = now + lease_.lease.count();
            } else {
                lost_ = true;
            }
        } catch (const std::exception& e) {
            // The store is down: the lease still holds until it runs out.
            log_event(spdlog::level::warn, kLogger, "could not renew the job lease",
                      {.action = name_, .outcome = "error", .error = e.what()});
            if (now >= lease_until_) lost_ = true;
        }
        if (lost_) {
            log_event(spdlog::level::warn, kLogger, "job lease lost; the run stops after the item in hand",
                      {.action = name_, .outcome = "lease_lost", .extra = {{"worker_id", holder_}}});
        }
    }

    JobStateStore& store_;
    const Clock& clock_;
    Job& job_;
    const std::string name_;
    const std::string holder_;
    const LeaseSettings lease_;
    std::mutex beat_mutex_;
    UnixSeconds lease_until_;  // under beat_mutex_
    std::atomic<bool> lost_{false};

    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::string progress_;
    std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace

std::optional<JobRunResult> run_under_lease(JobStateStore& store, const Clock& clock, Job& job,
                                            const std::string& holder, std::chrono::seconds interval,
                                            const LeaseSettings& lease) {
    const std::string name(job.name());
    if (!store.try_start_job({name, holder, clock.now(), interval.count(), lease.lease.count()}))
        return std::nullopt;
    JobRunResult result;
    {
        Heartbeat heartbeat(store, clock, job, holder, lease);
        result = job.run(heartbeat);
    }
    if (!store.finish_job(name, holder, clock.now(), result.ok, result.to_json().dump())) {
        log_event(spdlog::level::warn, kLogger, "job lease lost before the run finished; result not recorded",
                  {.action = name, .outcome = "lease_lost", .extra = {{"worker_id", holder}}});
    }
    return result;
}

struct Worker::Slot {
    ScheduledJob scheduled;
    std::mutex running;        // one run of the job at a time in this process
    std::uint64_t passes = 0;  // under Worker::mutex_
};

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
      options_(std::move(options)),
      id_(options_.worker_id.empty() ? make_worker_id() : options_.worker_id) {
    if (options_.heartbeat.count() <= 0) {
        options_.heartbeat = std::chrono::duration_cast<std::chrono::milliseconds>(options_.job_lease) / 3;
    }
    options_.heartbeat = std::max(options_.heartbeat, std::chrono::milliseconds(1));
    for (auto& job : jobs) {
        if (options_.metrics) options_.metrics->expect_job(job.job->name());
        auto slot = std::make_unique<Slot>();
        slot->scheduled = job;
        slots_.push_back(std::move(slot));
    }
}

Worker::~Worker() {
    stop();
}

void Worker::start() {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) return;
    started_ = true;
    log_event(spdlog::level::info, kLogger, "worker started",
              {.extra = {{"worker_id", id_}, {"jobs", slots_.size()}}});
    for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { loop(*s); });
}

void Worker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    if (options_.shutdown) options_.shutdown->stop();
    wake_.notify_all();
    std::vector<std::thread> threads;
    bool started = false;
    {
        std::lock_guard lock(mutex_);
        threads.swap(threads_);
        started = started_;
        started_ = false;
    }
    for (auto& t : threads) t.join();
    if (started) log_event(spdlog::level::info, kLogger, "worker stopped", {.extra = {{"worker_id", id_}}});
    std::vector<RunNowThread> runs;
    {
        std::lock_guard lock(mutex_);
        runs.swap(run_now_threads_);
    }
    for (auto& r : runs) r.thread.join();
}

void Worker::report_failure(const JobRunResult& result, const std::string& holder) {
    nlohmann::json data = {{"job", result.job}, {"worker", holder}, {"result", result.to_json()}};
    try {
        options_.events->append_event(kEventJobFailed, data.dump(), clock_.now());
    } catch (const std::exception& e) {
        // The failure is in the job's state already; the event is worth no second failure.
        log_event(spdlog::level::warn, kLogger, "job.failed event not written",
                  {.action = result.job, .outcome = "error", .extra = {{"error", e.what()}}});
    }
}

bool Worker::run_slot(Slot& slot, const std::string& holder) {
    std::unique_lock running(slot.running, std::try_to_lock);
    if (!running.owns_lock()) return false;
    const auto result = run_under_lease(store_, clock_, *slot.scheduled.job, holder, slot.scheduled.interval,
                                        {options_.job_lease, options_.heartbeat});
    // Every run of this process passes here (scheduled and asked for), so the gauge is the
    // last success of the job in this process, whichever way it was started.
    if (result && result->ok && options_.metrics) {
        options_.metrics->job_succeeded(slot.scheduled.job->name(), clock_.now());
    }
    if (result && !result->ok && options_.events) report_failure(*result, holder);
    return result.has_value();
}

bool Worker::start_run_now(std::string_view job_name) {
    Slot* slot = nullptr;
    for (auto& s : slots_) {
        if (s->scheduled.job->name() == job_name) slot = s.get();
    }
    if (!slot) return false;
    std::lock_guard lock(mutex_);
    if (stopping_) return true;  // recorded; a worker serves it
    // Finished run-now threads are joined here: one thread per request at most lives on.
    std::erase_if(run_now_threads_, [](RunNowThread& r) {
        if (!r.done->load()) return false;
        r.thread.join();
        return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, slot, done] {
        try {
            if (run_slot(*slot, id_ + "-admin")) {
                std::lock_guard inner(mutex_);
                ++runs_;
            }
        } catch (const std::exception& e) {
            log_event(
                spdlog::level::err, kLogger, "could not start the requested run",
                {.action = std::string(slot->scheduled.job->name()), .outcome = "error", .error = e.what()});
        }
        done->store(true);
    });
    run_now_threads_.push_back({std::move(thread), std::move(done)});
    return true;
}

void Worker::wake() {
    {
        std::lock_guard lock(mutex_);
        ++wakes_;
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
    std::uint64_t fewest = std::numeric_limits<std::uint64_t>::max();
    for (const auto& slot : slots_) fewest = std::min(fewest, slot->passes);
    return slots_.empty() ? 0 : fewest;
}

bool Worker::try_slot(Slot& slot) {
    bool ran = false;
    try {
        ran = run_slot(slot, id_);
    } catch (const std::exception& e) {
        // The store is down: the lease is not ours or will run out; try again next poll.
        log_event(spdlog::level::err, kLogger, "could not schedule job",
                  {.action = std::string(slot.scheduled.job->name()), .outcome = "error", .error = e.what()});
    }
    std::lock_guard lock(mutex_);
    if (ran) ++runs_;
    ++slot.passes;
    return ran;
}

int Worker::run_due_jobs() {
    int ran = 0;
    for (const auto& slot : slots_) {
        if (stopping()) break;
        if (try_slot(*slot)) ++ran;
    }
    return ran;
}

void Worker::loop(Slot& slot) {
    std::uint64_t seen_wakes = 0;
    {
        std::lock_guard lock(mutex_);
        seen_wakes = wakes_;
    }
    while (!stopping()) {
        try_slot(slot);
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.poll, [&] { return stopping_ || wakes_ != seen_wakes; });
        seen_wakes = wakes_;
    }
}

}  // namespace broker
