// The cleanup job: see cleanup_job.hpp.
#include "jobs/cleanup_job.hpp"

#include <algorithm>
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

CleanupJob::CleanupJob(Provider& provider, ServiceCleaner* cleaner, LifecycleStore& store, const Clock& clock,
                       CleanupSettings settings, std::string worker_id, SleepFunction sleep,
                       JobMetrics* metrics)
    : provider_(provider),
      cleaner_(cleaner),
      store_(store),
      clock_(clock),
      settings_(settings),
      worker_id_(std::move(worker_id)),
      sleep_(std::move(sleep)),
      metrics_(metrics) {
    settings_.batch_size = std::max(1, settings_.batch_size);
    settings_.max_attempts = std::max(1, settings_.max_attempts);
    settings_.max_batches_per_run = std::max(1, settings_.max_batches_per_run);
}

bool CleanupJob::wait(std::chrono::milliseconds delay) {
    if (sleep_) return sleep_(delay);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return true;
}

JobRunResult CleanupJob::run(RunControl& control) {
    auto result = run_job_body(name(), clock_, [&](JobRunResult& r) {
        for (const auto* key : {"claimed", "deleted", "already_gone", "failed"}) r.add(key, 0);
        for (int batch = 0; batch < settings_.max_batches_per_run; ++batch) {
            if (!control.keep_going()) {
                r.stopped_early = true;
                r.stop_reason = "job lease lost";
                return;
            }
            if (!wait(batch == 0 ? std::chrono::milliseconds(0) : settings_.batch_delay)) {
                r.stopped_early = true;
                r.stop_reason = "stopping";
                return;
            }
            const UnixSeconds now = clock_.now();
            const auto claimed = store_.claim_for_deletion(
                {worker_id_, now, now + settings_.claim_lease.count(), settings_.batch_size});
            hold(claimed);
            if (!claimed.empty()) control.renew_now();
            r.add("claimed", static_cast<std::int64_t>(claimed.size()));
            control.report_progress(r.counts);
            std::size_t i = 0;
            try {
                for (; i < claimed.size(); ++i) {
                    if (!control.keep_going()) {
                        r.stopped_early = true;
                        r.stop_reason = "job lease lost";
                        release(claimed, i, r);
                        return;
                    }
                    if (i > 0 && !wait(settings_.per_sandbox_delay)) {
                        r.stopped_early = true;
                        r.stop_reason = "stopping";
                        release(claimed, i, r);
                        return;
                    }
                    if (clean_one(claimed[i], r) == Step::stop) {
                        release(claimed, i, r);
                        return;
                    }
                    control.report_progress(r.counts);
                }
            } catch (...) {
                // A failing store ends the run: what was not done is given back (best effort),
                // not left claimed until the claims run out.
                release(claimed, i, r);
                throw;
            }
            hold({});
            if (static_cast<int>(claimed.size()) < settings_.batch_size) return;
        }
    });
    hold({});
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
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (const auto& s : batch) ids.push_back(s.sandbox_id);
    std::lock_guard lock(held_mutex_);
    held_ = std::move(ids);
}

void CleanupJob::release(const std::vector<Sandbox>& batch, std::size_t from, JobRunResult& r) {
    std::vector<std::string> ids;
    for (std::size_t i = from; i < batch.size(); ++i) ids.push_back(batch[i].sandbox_id);
    r.add("left_claimed", static_cast<std::int64_t>(ids.size()));
    hold({});
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
