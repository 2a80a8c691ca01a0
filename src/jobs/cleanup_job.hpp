// The cleanup job: deletes returned sandboxes at the provider. It claims a batch in the store
// (a lease, so a crashed worker's claims pass to another), runs the NIOSXaaS step (its
// failure is recorded, never blocks), deletes at the provider, and records the outcome: gone
// (deleted or 404) -> deleted; failed -> retried with exponential backoff, after the last
// attempt deletion_failed and retried slowly. An open circuit ends the run early without
// counting an attempt against anyone. A crash anywhere loses nothing: the claim expires and a
// repeated delete answers 404, which counts as done. Deletions of a run go on concurrently,
// up to `max_concurrency` at once; how many are really in flight is the provider's adaptive
// limit's to say (provider/adaptive_limiter), which the CSP client's calls wait for.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "jobs/job.hpp"
#include "obs/broker_metrics.hpp"
#include "provider/adaptive_limiter.hpp"
#include "provider/provider.hpp"
#include "runtime/stoppable_sleep.hpp"
#include "store/lifecycle_store.hpp"

namespace broker {

struct CleanupSettings {
    int batch_size = 10;  // CLEANUP_BATCH_SIZE
    // Floors: the least time between two batches' claims, and between two deletions' starts.
    std::chrono::milliseconds batch_delay{0};        // CLEANUP_BATCH_DELAY_SEC
    std::chrono::milliseconds per_sandbox_delay{0};  // CLEANUP_PER_SANDBOX_DELAY_SEC
    // Deletions under way at once at most (1: one after another, on the run's own thread).
    int max_concurrency = 16;                 // CLEANUP_MAX_CONCURRENCY
    int max_attempts = 5;                     // DELETION_RETRY_MAX_ATTEMPTS
    std::chrono::seconds retry_base{60};      // DELETION_RETRY_BASE_SEC
    std::chrono::seconds failed_retry{3600};  // DELETION_FAILED_RETRY_SEC
    std::chrono::seconds claim_lease{30};     // CLEANUP_CLAIM_LEASE_SEC
    int max_batches_per_run = 100;            // the rest waits for the next run
};

// When the attempt numbered `attempts` (1 = the first) has failed, how long until the next:
// retry_base doubling per attempt, capped at failed_retry; failed_retry once attempts
// reached max_attempts; never sooner than the provider's Retry-After.
std::chrono::seconds deletion_retry_delay(const CleanupSettings& settings, int attempts,
                                          std::optional<std::chrono::seconds> retry_after = std::nullopt);

class CleanupJob final : public Job {
  public:
    // `cleaner` may be null (no NIOSXaaS step); `metrics` may be null. `worker_id` names the
    // claims. `sleep` does every delay and answers false once the worker is stopping; a zero
    // wait asks only that. Empty: real sleeps, never stopped. `pace` (may be null) is the
    // provider's concurrency limit, read for the run's summary.
    CleanupJob(Provider& provider, ServiceCleaner* cleaner, LifecycleStore& store, const Clock& clock,
               CleanupSettings settings, std::string worker_id, SleepFunction sleep = {},
               JobMetrics* metrics = nullptr, const AdaptiveLimiter* pace = nullptr);

    std::string_view name() const override { return kCleanupJobName; }
    // Counts: claimed, deleted, already_gone, failed, now_deletion_failed, left_claimed (not
    // attempted because the run stopped early: shutdown, an open circuit, or the job's lease
    // lost; their claims are given back at once, so the next run takes them), niosxaas_cleaned,
    // niosxaas_shadow, niosxaas_failed, niosxaas_services; with a `pace`, the provider's
    // concurrency limit over the run (limit_min, limit_max, limit_final) and the provider calls
    // it saw refused (throttled: 429s; congested: 429s, 5xx, timeouts and very slow answers),
    // counted over every job's calls while the run went on. Progress is reported after each
    // sandbox; `control.keep_going()` is asked before each is started.
    JobRunResult run(RunControl& control) override;
    // Renews the claims on the batch in hand (the claim lease is short: a killed worker's
    // sandboxes pass to another quickly, a live one keeps them however slow the provider is).
    void on_heartbeat() override;

  private:
    enum class Step { next, stop };
    class Deleters;
    // State shared by the deletions of one run.
    struct RunState {
        std::mutex mutex;
        JobRunResult* result = nullptr;  // under mutex
        std::atomic<bool> stop{false};   // an item asked the run to end (open circuit, store failure)
        std::exception_ptr error;        // under mutex: the first unexpected failure
        int limit_min = 0, limit_max = 0;
    };
    // One sandbox, start to end, on whichever thread: merges its counts into the run's.
    void delete_one(const Sandbox& sandbox, RunState& state, RunControl& control);
    Step clean_one(const Sandbox& sandbox, JobRunResult& r);
    void hold(const std::vector<Sandbox>& batch);  // adds to what on_heartbeat() renews
    void drop(const std::string& sandbox_id);
    // Gives back the claims on batch[from..] (not attempted) and counts them as left_claimed.
    void release(const std::vector<Sandbox>& batch, std::size_t from, JobRunResult& r);
    void niosxaas_step(const Sandbox& sandbox, JobRunResult& r);
    bool wait(std::chrono::milliseconds delay);

    Provider& provider_;
    ServiceCleaner* cleaner_;
    LifecycleStore& store_;
    const Clock& clock_;
    CleanupSettings settings_;
    std::string worker_id_;
    SleepFunction sleep_;
    JobMetrics* metrics_;
    const AdaptiveLimiter* pace_;

    std::mutex held_mutex_;
    std::vector<std::string> held_;  // ids claimed and not yet done, for on_heartbeat()
};

}  // namespace broker
