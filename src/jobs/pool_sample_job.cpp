// The pool_sample job: see pool_sample_job.hpp.
#include "jobs/pool_sample_job.hpp"

namespace broker {

PoolSampleJob::PoolSampleJob(Store& store, DashboardStore& dashboard, const Clock& clock,
                             int history_retention_days)
    : store_(store), dashboard_(dashboard), clock_(clock), retention_days_(history_retention_days) {}

JobRunResult PoolSampleJob::run(RunControl&) {
    return run_job_body(name(), clock_, [&](JobRunResult& r) {
        const UnixSeconds now = clock_.now();
        const UnixSeconds minute = kPoolSampleInterval.count();
        // Keyed by the minute: a second run in the same minute (a run asked for by hand, a
        // worker taking over) rewrites that minute's sample instead of adding one.
        PoolSample sample;
        sample.at = now - ((now % minute) + minute) % minute;
        if (reconciler_) {
            const CountReconcileReport reconciled = reconciler_->reconcile_counts_if_due(now);
            if (reconciled.ran) {
                r.add("counts_corrected", reconciled.corrected);
                r.add("counts_deferred", static_cast<std::int64_t>(reconciled.deferred.size()));
            }
        }
        sample.counts = store_.count_by_status();
        sample.allocations = dashboard_.count_allocated_between(sample.at - minute, sample.at);
        dashboard_.record_pool_sample(sample);
        if (alerts_) {
            switch (
                check_pool_watermark(*alerts_, sample.counts[SandboxStatus::available], watermark_, now)) {
                case PoolWatermarkChange::low:
                    r.add("pool_low");
                    break;
                case PoolWatermarkChange::recovered:
                    r.add("pool_recovered");
                    break;
                case PoolWatermarkChange::none:
                    break;
            }
        }
        r.add("sampled_at", sample.at);
        r.add("allocations", sample.allocations);
        r.add("pruned",
              dashboard_.prune_pool_samples(now - static_cast<UnixSeconds>(retention_days_) * 86400));
    });
}

}  // namespace broker
