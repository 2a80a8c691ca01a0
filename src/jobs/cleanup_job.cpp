// The cleanup job: see cleanup_job.hpp.
#include "jobs/cleanup_job.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>

#include "obs/json_log.hpp"

namespace broker {
namespace {

constexpr std::string_view kLogger = "broker.jobs.cleanup";

}  // namespace

std::chrono::seconds deletion_retry_delay(const CleanupSettings& settings, int attempts,
                                          std::optional<std::chrono::seconds> retry_after) {
    std::chrono::seconds delay = settings.failed_retry;
    if (attempts < settings.max_attempts) {
        // base * 2^(attempts-1), without overflowing for large attempt numbers.
        const int doublings = std::clamp(attempts - 1, 0, 30);
        const std::int64_t backoff = settings.retry_base.count() * (std::int64_t{1} << doublings);
        delay = std::chrono::seconds(std::min(backoff, settings.failed_retry.count()));
    }
    if (retry_after && *retry_after > delay) delay = *retry_after;
    return std::max(delay, std::chrono::seconds(1));
}

// Runs deletions on up to `threads` threads of its own, started as work arrives; submit()
// blocks while every one is busy, so claimed sandboxes wait in the store's order, not here.
class CleanupJob::Deleters {
  public:
    Deleters(int threads, std::function<void(const Sandbox&)> work)
        : max_threads_(static_cast<std::size_t>(std::max(1, threads))), work_(std::move(work)) {}
    ~Deleters() { finish(); }
    Deleters(const Deleters&) = delete;
    Deleters& operator=(const Deleters&) = delete;

    void submit(const Sandbox& sandbox) {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return busy_ + queue_.size() < max_threads_; });
        queue_.push_back(sandbox);
        if (threads_.size() < max_threads_ && busy_ + queue_.size() > threads_.size()) {
            threads_.emplace_back([this] { loop(); });
        }
        work_ready_.notify_one();
    }
    // Waits for every submitted deletion to end; joins the threads.
    void finish() {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        work_ready_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

  private:
    void loop() {
        std::unique_lock lock(mutex_);
        for (;;) {
            work_ready_.wait(lock, [&] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;
            Sandbox sandbox = std::move(queue_.front());
            queue_.pop_front();
            ++busy_;
            lock.unlock();
            work_(sandbox);  // never throws: delete_one keeps what went wrong
            lock.lock();
            --busy_;
            space_.notify_all();
        }
    }

    const std::size_t max_threads_;
    std::function<void(const Sandbox&)> work_;
    std::mutex mutex_;
    std::condition_variable work_ready_, space_;
    std::deque<Sandbox> queue_;
    std::size_t busy_ = 0;
    bool closing_ = false;
    std::vector<std::thread> threads_;
};

CleanupJob::CleanupJob(Provider& provider, ServiceCleaner* cleaner, LifecycleStore& store, const Clock& clock,
                       CleanupSettings settings, std::string worker_id, SleepFunction sleep,
                       JobMetrics* metrics, const AdaptiveLimiter* pace)
    : provider_(provider),
      cleaner_(cleaner),
      store_(store),
      clock_(clock),
      settings_(settings),
      worker_id_(std::move(worker_id)),
      sleep_(std::move(sleep)),
      metrics_(metrics),
      pace_(pace) {
    settings_.batch_size = std::max(1, settings_.batch_size);
    settings_.max_attempts = std::max(1, settings_.max_attempts);
    settings_.max_batches_per_run = std::max(1, settings_.max_batches_per_run);
    settings_.max_concurrency = std::max(1, settings_.max_concurrency);
}

bool CleanupJob::wait(std::chrono::milliseconds delay) {
    if (sleep_) return sleep_(delay);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return true;
}

void CleanupJob::delete_one(const Sandbox& sandbox, RunState& state, RunControl& control) {
    JobRunResult mine;
    Step step = Step::next;
    std::exception_ptr error;
    try {
        step = clean_one(sandbox, mine);
    } catch (...) {
        error = std::current_exception();
    }
    std::lock_guard lock(state.mutex);
    JobRunResult& r = *state.result;
    for (const auto& [key, n] : mine.counts) r.add(key, n);
    for (auto& e : mine.errors) r.add_error(std::move(e));
    if (pace_) {
        const int limit = pace_->limit();
        state.limit_min = std::min(state.limit_min, limit);
        state.limit_max = std::max(state.limit_max, limit);
    }
    if (error || step == Step::stop) {
        if (step == Step::stop) {
            r.ok = false;
            r.stopped_early = true;
            r.stop_reason = mine.stop_reason;
        }
        if (error && !state.error) state.error = error;
        state.stop = true;
        // Not done: given back at once (best effort), not left claimed until the claims run out.
        release({sandbox}, 0, r);
    } else {
        drop(sandbox.sandbox_id);
    }
    control.report_progress(r.counts);
}

JobRunResult CleanupJob::run(RunControl& control) {
    const LimiterStats pace_before = pace_ ? pace_->stats() : LimiterStats{};
    RunState state;
    state.limit_min = state.limit_max = pace_before.limit;
    auto result = run_job_body(name(), clock_, [&](JobRunResult& r) {
        state.result = &r;
        for (const auto* key : {"claimed", "deleted", "already_gone", "failed"}) r.add(key, 0);
        // One at a time runs on this thread; more on the Deleters' threads.
        const bool inline_runs = settings_.max_concurrency == 1;
        Deleters deleters(settings_.max_concurrency,
                          [&](const Sandbox& sandbox) { delete_one(sandbox, state, control); });
        const auto stop_here = [&](const std::vector<Sandbox>& batch, std::size_t from, const char* why) {
            std::lock_guard lock(state.mutex);
            if (why) {
                r.stopped_early = true;
                r.stop_reason = why;
            }
            release(batch, from, r);
        };
        [&] {
            for (int batch = 0; batch < settings_.max_batches_per_run; ++batch) {
                if (state.stop) return;
                if (!control.keep_going()) return stop_here({}, 0, "job lease lost");
                if (!wait(batch == 0 ? std::chrono::milliseconds(0) : settings_.batch_delay)) {
                    return stop_here({}, 0, "stopping");
                }
                const UnixSeconds now = clock_.now();
                const auto claimed = store_.claim_for_deletion(
                    {worker_id_, now, now + settings_.claim_lease.count(), settings_.batch_size});
                hold(claimed);
                if (!claimed.empty()) control.renew_now();
                {
                    std::lock_guard lock(state.mutex);
                    r.add("claimed", static_cast<std::int64_t>(claimed.size()));
                    control.report_progress(r.counts);
                }
                for (std::size_t i = 0; i < claimed.size(); ++i) {
                    if (state.stop) return stop_here(claimed, i, nullptr);
                    if (!control.keep_going()) return stop_here(claimed, i, "job lease lost");
                    if (i > 0 && !wait(settings_.per_sandbox_delay)) return stop_here(claimed, i, "stopping");
                    if (inline_runs) {
                        delete_one(claimed[i], state, control);
                    } else {
                        deleters.submit(claimed[i]);
                    }
                }
                if (static_cast<int>(claimed.size()) < settings_.batch_size) return;
            }
        }();
        deleters.finish();
        state.result = nullptr;
        if (pace_) {
            const LimiterStats after = pace_->stats();
            r.add("limit_min", std::min(state.limit_min, after.limit));
            r.add("limit_max", std::max(state.limit_max, after.limit));
            r.add("limit_final", after.limit);
            r.add("throttled", static_cast<std::int64_t>(after.throttled - pace_before.throttled));
            r.add("congested", static_cast<std::int64_t>(after.congested - pace_before.congested));
        }
        if (state.error) std::rethrow_exception(state.error);
    });
    {
        std::lock_guard lock(held_mutex_);
        held_.clear();
    }
    if (metrics_) {
        metrics_->cleanup_total.with_labels({result.ok ? "success" : "error"}).inc();
        metrics_->cleanup_deleted.inc(
            static_cast<std::uint64_t>(result.count("deleted") + result.count("already_gone")));
        metrics_->cleanup_failed.inc(static_cast<std::uint64_t>(result.count("failed")));
        metrics_->cleanup_duration.observe(std::chrono::duration<double>(result.duration).count());
    }
    return result;
}

void CleanupJob::hold(const std::vector<Sandbox>& batch) {
    std::lock_guard lock(held_mutex_);
    for (const auto& s : batch) held_.push_back(s.sandbox_id);
}

void CleanupJob::drop(const std::string& sandbox_id) {
    std::lock_guard lock(held_mutex_);
    std::erase(held_, sandbox_id);
}

void CleanupJob::release(const std::vector<Sandbox>& batch, std::size_t from, JobRunResult& r) {
    std::vector<std::string> ids;
    for (std::size_t i = from; i < batch.size(); ++i) ids.push_back(batch[i].sandbox_id);
    if (ids.empty()) return;
    r.add("left_claimed", static_cast<std::int64_t>(ids.size()));
    for (const auto& id : ids) drop(id);
    try {
        store_.release_deletion_claims(ids, worker_id_, clock_.now());
    } catch (const std::exception& e) {
        // The claims then run out on their own (CLEANUP_CLAIM_LEASE_SEC).
        r.add_error(std::string("claims not given back: ") + e.what());
    }
}

void CleanupJob::on_heartbeat() {
    std::vector<std::string> ids;
    {
        std::lock_guard lock(held_mutex_);
        ids = held_;
    }
    if (ids.empty()) return;
    try {
        const UnixSeconds now = clock_.now();
        store_.renew_deletion_claims(ids, worker_id_, now, now + settings_.claim_lease.count());
    } catch (const std::exception& e) {
        log_event(spdlog::level::warn, kLogger, "could not renew cleanup claims",
                  {.action = "renew_claims", .outcome = "error", .error = e.what()});
    }
}

CleanupJob::Step CleanupJob::clean_one(const Sandbox& sandbox, JobRunResult& r) {
    niosxaas_step(sandbox, r);

    const DeleteResult deleted = provider_.delete_sandbox(sandbox.external_id);
    if (deleted.gone()) {
        // 404 is done too: we deleted it before a crash, or someone did by hand.
        const bool already_gone = deleted.status == DeleteStatus::already_gone;
        r.add(already_gone ? "already_gone" : "deleted");
        if (!store_.record_deleted(sandbox.sandbox_id, std::string(kCleanupJobName), clock_.now(),
                                   already_gone ? DeletedHow::already_gone : DeletedHow::deleted_by_broker)) {
            // Removed from the store meanwhile (bulk delete): nothing left to record.
            r.add_error(sandbox.sandbox_id + ": deleted at the provider, but no longer pending in the store");
        }
        return Step::next;
    }
    if (deleted.failure == ProviderFailureKind::circuit_open) {
        // Not this sandbox's fault: no attempt is counted; its claim is given back and a later run
        // takes it, after the breaker has had time to close.
        r.ok = false;
        r.stopped_early = true;
        r.stop_reason = "provider circuit open";
        r.add_error("provider circuit open: " + deleted.reason);
        return Step::stop;
    }

    const int attempts = sandbox.deletion_retry_count + 1;
    const UnixSeconds now = clock_.now();
    const auto delay = deletion_retry_delay(settings_, attempts, deleted.retry_after);
    r.add("failed");
    if (attempts >= settings_.max_attempts && sandbox.status != SandboxStatus::deletion_failed) {
        r.add("now_deletion_failed");
    }
    r.add_error(sandbox.sandbox_id + ": attempt " + std::to_string(attempts) + " failed: " + deleted.reason);
    const bool recorded = store_.record_deletion_failure(
        {sandbox.sandbox_id, worker_id_, now, now + delay.count(), settings_.max_attempts, deleted.reason});
    LogFields fields;
    fields.action = "delete_sandbox";
    fields.sandbox_id = sandbox.sandbox_id;
    fields.outcome = "failed";
    fields.error = deleted.reason;
    fields.extra = {{"attempt", attempts}, {"next_attempt_in_sec", delay.count()}};
    if (!recorded) fields.extra.emplace_back("claim", "lost before the failure was recorded");
    log_event(spdlog::level::warn, kLogger, "sandbox deletion failed", fields);
    return Step::next;
}

void CleanupJob::niosxaas_step(const Sandbox& sandbox, JobRunResult& r) {
    if (!cleaner_) return;
    CleanupResult cleaned;
    try {
        cleaned = cleaner_->cleanup(sandbox.external_id);
    } catch (const std::exception& e) {
        cleaned.outcome = CleanupOutcome::failed;
        cleaned.reason = e.what();
    }
    std::string_view metric_outcome = "skipped";
    switch (cleaned.outcome) {
        case CleanupOutcome::skipped:
            r.add("niosxaas_skipped");
            break;
        case CleanupOutcome::shadow:
            metric_outcome = "shadow";
            r.add("niosxaas_shadow");
            break;
        case CleanupOutcome::cleaned:
            metric_outcome = "success";
            r.add("niosxaas_cleaned");
            r.add("niosxaas_services", cleaned.services);
            if (metrics_)
                metrics_->niosxaas_services_deleted.inc(static_cast<std::uint64_t>(cleaned.services));
            break;
        case CleanupOutcome::failed:
            metric_outcome = "failure";
            r.add("niosxaas_failed");
            r.add_error(sandbox.sandbox_id +
                        ": NIOSXaaS clean-up failed (deletion goes on): " + cleaned.reason);
            log_event(spdlog::level::warn, kLogger, "NIOSXaaS clean-up failed; deleting the sandbox anyway",
                      {.sandbox_id = sandbox.sandbox_id,
                       .action = "niosxaas_cleanup",
                       .outcome = "failure",
                       .error = cleaned.reason});
            break;
    }
    if (metrics_) metrics_->niosxaas_cleanup_total.with_labels({metric_outcome}).inc();
}

}  // namespace broker
