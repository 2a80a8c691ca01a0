// The auto_delete_stale job: see stale_job.hpp.
#include "jobs/stale_job.hpp"

namespace broker {

AutoDeleteStaleJob::AutoDeleteStaleJob(LifecycleStore& store, const Clock& clock, StaleSettings settings)
    : store_(store), clock_(clock), settings_(settings) {}

JobRunResult AutoDeleteStaleJob::run_with_grace(std::chrono::seconds grace) {
    return run_job_body(name(), clock_, [&](JobRunResult& r) {
        const UnixSeconds now = clock_.now();
        r.add("grace_sec", grace.count());
        r.add("removed", store_.remove_stale(now - grace.count(), now, std::string(kAutoDeleteStaleJobName)));
        const UnixSeconds keep_from =
            now - static_cast<UnixSeconds>(settings_.history_retention_days) * 86400;
        r.add("history_pruned", store_.prune_history(keep_from));
        if (events_) {
            const std::int64_t delivered = delivered_up_to_ ? delivered_up_to_() : events_->last_event_id();
            r.add("events_pruned", events_->prune_events(delivered, now - event_retention_.count()));
        }
    });
}

}  // namespace broker
