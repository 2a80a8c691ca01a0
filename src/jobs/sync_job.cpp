// The sync job: see sync_job.hpp.
#include "jobs/sync_job.hpp"

namespace broker {

SyncJob::SyncJob(Provider& provider, LifecycleStore& store, const Clock& clock, JobMetrics* metrics)
    : provider_(provider), store_(store), clock_(clock), metrics_(metrics) {}

JobRunResult SyncJob::run(RunControl& control) {
    auto result = run_job_body(name(), clock_, [&](JobRunResult& r) {
        const ListResult list = provider_.list_sandboxes();
        if (!list.ok()) {
            // An outage must not look like an empty provider: nothing is marked stale.
            r.ok = false;
            r.add_error("provider list failed (" + std::string(to_string(list.failure->kind)) +
                        "): " + list.failure->message);
            return;
        }
        r.add("listed", static_cast<std::int64_t>(list.sandboxes.size()));
        r.add("ignored", static_cast<std::int64_t>(list.ignored));
        control.report_progress(r.counts);  // the store's part of a large sync takes a while
        const SyncSummary s = store_.sync_pool(list.sandboxes, clock_.now());
        r.add("inserted", s.upsert.inserted);
        r.add("revived", s.upsert.revived);
        r.add("refreshed", s.upsert.refreshed);
        r.add("skipped", s.upsert.skipped);
        r.add("marked_stale", s.marked_stale);
    });
    if (metrics_) {
        metrics_->sync_total.with_labels({result.ok ? "success" : "error"}).inc();
        metrics_->sync_sandboxes_synced.inc(static_cast<std::uint64_t>(result.count("listed")));
        metrics_->sync_sandboxes_stale.inc(static_cast<std::uint64_t>(result.count("marked_stale")));
        metrics_->sync_duration.observe(std::chrono::duration<double>(result.duration).count());
    }
    return result;
}

}  // namespace broker
