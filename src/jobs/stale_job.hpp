// The auto_delete_stale job: forgets sandboxes the provider stopped listing more than the
// grace period ago (the provider is never called), and prunes the transition history older
// than its retention (and the outbox's delivered events older than theirs).
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "jobs/job.hpp"
#include "store/event_store.hpp"
#include "store/lifecycle_store.hpp"

namespace broker {

struct StaleSettings {
    std::chrono::seconds grace{24 * 3600};  // STALE_GRACE_PERIOD_HOURS
    int history_retention_days = 30;        // HISTORY_RETENTION_DAYS
};

class AutoDeleteStaleJob final : public Job {
  public:
    AutoDeleteStaleJob(LifecycleStore& store, const Clock& clock, StaleSettings settings);

    std::string_view name() const override { return kAutoDeleteStaleJobName; }
    // Counts: removed, history_pruned.
    JobRunResult run(RunControl&) override { return run_with_grace(settings_.grace); }
    // The same with another grace period: the admin API's `grace_period_hours`.
    JobRunResult run_with_grace(std::chrono::seconds grace);

    // Also prunes the outbox: events older than `retention` up to what `delivered_up_to`
    // answers (the newest id every consumer has taken; empty: the newest event). Counts:
    // events_pruned.
    void prune_events(EventStore& events, std::chrono::seconds retention,
                      std::function<std::int64_t()> delivered_up_to = {}) {
        events_ = &events;
        event_retention_ = retention;
        delivered_up_to_ = std::move(delivered_up_to);
    }

  private:
    LifecycleStore& store_;
    const Clock& clock_;
    StaleSettings settings_;
    EventStore* events_ = nullptr;
    std::chrono::seconds event_retention_{7 * 86400};
    std::function<std::int64_t()> delivered_up_to_;
};

}  // namespace broker
