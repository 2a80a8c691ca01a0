// The auto_expiry job: see expiry_job.hpp.
#include "jobs/expiry_job.hpp"

#include <algorithm>

namespace broker {

AutoExpiryJob::AutoExpiryJob(LifecycleStore& store, const Clock& clock, ExpirySettings settings,
                             JobMetrics* metrics)
    : store_(store), clock_(clock), settings_(settings), metrics_(metrics) {
    settings_.batch_size = std::max(1, settings_.batch_size);
    settings_.max_batches_per_run = std::max(1, settings_.max_batches_per_run);
}

JobRunResult AutoExpiryJob::run(RunControl& control) {
    auto result = run_job_body(name(), clock_, [&](JobRunResult& r) {
        r.add("expired", 0);
        for (int batch = 0; batch < settings_.max_batches_per_run; ++batch) {
            if (!control.keep_going()) {  // the job's lease was lost: another worker goes on
                r.stopped_early = true;
                r.stop_reason = "job lease lost";
                break;
            }
            const auto moved = store_.expire_allocations(clock_.now(), settings_.lease, settings_.batch_size);
            // Only batches that moved something count: an idle run reports all zeros.
            if (!moved.empty()) r.add("batches");
            r.add("expired", static_cast<std::int64_t>(moved.size()));
            control.report_progress(r.counts);
            if (static_cast<int>(moved.size()) < settings_.batch_size) break;
        }
    });
    if (metrics_) {
        metrics_->expiry_total.with_labels({result.ok ? "success" : "error"}).inc();
        metrics_->expiry_orphaned.inc(static_cast<std::uint64_t>(result.count("expired")));
    }
    return result;
}

}  // namespace broker
