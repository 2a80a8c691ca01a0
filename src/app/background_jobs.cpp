// Wiring of the background jobs: see background_jobs.hpp.
#include "app/background_jobs.hpp"

#include <algorithm>

#include "app/provider_wiring.hpp"
#include "jobs/pool_sample_job.hpp"
#include "service/admin_service.hpp"
#include "store/event_store.hpp"
#include "store/webhook_store.hpp"

namespace broker {
namespace {

CleanupSettings cleanup_settings(const JobConfig& c) {
    CleanupSettings s;
    s.batch_size = c.cleanup_batch_size;
    s.batch_delay = c.cleanup_batch_delay;
    s.per_sandbox_delay = c.cleanup_per_sandbox_delay;
    s.max_attempts = c.deletion_retry_max_attempts;
    s.retry_base = c.deletion_retry_base;
    s.failed_retry = c.deletion_failed_retry;
    s.claim_lease = c.cleanup_claim_lease;
    s.max_concurrency = c.cleanup_max_concurrency;
    return s;
}

}  // namespace

BackgroundConfig load_background_config(const EnvLookup& env, const Config& config, bool provider_required) {
    BackgroundConfig out;
    out.jobs = load_job_config(env);
    out.lease = config.lease;
    check_provider_config(env, provider_required);
    out.provider_env = env;
    out.provider_required = provider_required;
    return out;
}

BackgroundJobs::BackgroundJobs(const StoreHandle& store, const Clock& clock, const BackgroundConfig& config,
                               JobMetrics* metrics) {
    LifecycleStore& lifecycle = store.part<LifecycleStore>();
    WorkerOptions options;
    options.worker_id = make_worker_id();
    options.job_lease = config.jobs.job_lease;
    // Claims on the sandboxes in hand are renewed by the same heartbeat: beat often enough
    // for the shorter of the two leases.
    options.heartbeat = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::min(config.jobs.job_lease, config.jobs.cleanup_claim_lease)) /
                        3;
    options.poll = config.jobs.worker_poll;
    options.shutdown = &shutdown_;
    options.metrics = metrics;
    // The outbox: job.failed, pool.low / pool.recovered, and pruning delivered events.
    EventStore& events = store.part<EventStore>();
    options.events = &events;

    if (auto parts = make_provider(config.provider_env, config.provider_required, clock,
                                   shutdown_.as_function(), metrics, config.jobs.cleanup_max_concurrency)) {
        provider_observer_ = std::move(parts->observer);
        pace_observer_ = std::move(parts->pace_observer);
        pace_ = std::move(parts->pace);
        provider_ = std::move(parts->provider);
        cleaner_ = std::move(parts->cleaner);
        jobs_.push_back(std::make_unique<SyncJob>(*provider_, lifecycle, clock, metrics));
        jobs_.push_back(std::make_unique<CleanupJob>(*provider_, cleaner_.get(), lifecycle, clock,
                                                     cleanup_settings(config.jobs), options.worker_id,
                                                     shutdown_.as_function(), metrics, pace_.get()));
    }
    jobs_.push_back(std::make_unique<AutoExpiryJob>(
        lifecycle, clock, ExpirySettings{config.lease, config.jobs.expiry_batch_size}, metrics));
    auto stale = std::make_unique<AutoDeleteStaleJob>(
        lifecycle, clock, StaleSettings{config.jobs.stale_grace, config.jobs.history_retention_days});
    // Events an enabled webhook subscription has not yet turned into deliveries are kept
    // (up to the lowest enabled cursor), however old.
    WebhookStore& webhooks = store.part<WebhookStore>();
    stale->prune_events(events, config.jobs.event_retention, [&webhooks, &events] {
        return delivered_watermark(webhooks.list_webhooks(), events.last_event_id());
    });
    jobs_.push_back(std::move(stale));
    auto sample = std::make_unique<PoolSampleJob>(store.store(), store.part<DashboardStore>(), clock,
                                                  config.jobs.history_retention_days);
    sample->watch_watermark(store.part<PoolAlertStore>(),
                            {config.jobs.pool_low_watermark, config.jobs.pool_low_hysteresis});
    if (auto* counts = store.find<CountReconciler>()) sample->reconcile_counts(*counts);
    jobs_.push_back(std::move(sample));

    std::vector<ScheduledJob> scheduled;
    for (const auto& [name, interval] : job_intervals(config.jobs)) {
        for (const auto& job : jobs_) {
            if (job->name() == name) scheduled.push_back({job.get(), interval});
        }
    }
    worker_ = std::make_unique<Worker>(store.part<JobStateStore>(), clock, std::move(scheduled),
                                       std::move(options));
}

BackgroundJobs::~BackgroundJobs() {
    stop();
}

void BackgroundJobs::start() {
    worker_->start();
}

void BackgroundJobs::interrupt() {
    shutdown_.stop();
}

void BackgroundJobs::stop() {
    interrupt();
    worker_->stop();
}

std::vector<Job*> BackgroundJobs::jobs() const {
    std::vector<Job*> out;
    for (const auto& job : jobs_) out.push_back(job.get());
    return out;
}

}  // namespace broker
