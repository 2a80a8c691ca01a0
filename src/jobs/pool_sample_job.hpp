// The pool_sample job: once a minute, one worker among the replicas writes a sample of the
// pool (counts by status, allocations in the minute before) to the store, the time series the
// dashboard draws; forgets samples older than the history's retention; and checks the pool's
// low watermark against the sampled counts. On a store whose counts can drift, it reconciles
// them first when their period has passed.
#pragma once

#include <chrono>
#include <string_view>

#include "jobs/job.hpp"
#include "jobs/pool_watermark.hpp"
#include "store/count_reconciler.hpp"
#include "store/dashboard_store.hpp"
#include "store/store.hpp"

namespace broker {

inline constexpr std::string_view kPoolSampleJobName = "pool_sample";
// One sample a minute, at the start of the minute.
inline constexpr std::chrono::seconds kPoolSampleInterval{60};

class PoolSampleJob final : public Job {
  public:
    // `history_retention_days`: HISTORY_RETENTION_DAYS, the history's retention.
    PoolSampleJob(Store& store, DashboardStore& dashboard, const Clock& clock, int history_retention_days);

    // Also checks the pool's low watermark on each sample (jobs/pool_watermark).
    void watch_watermark(PoolAlertStore& alerts, PoolWatermarkSettings settings) {
        alerts_ = &alerts;
        watermark_ = settings;
    }

    // Also reconciles the store's maintained counts, when its period has passed, before
    // sampling them (a store whose counts can drift: store/count_reconciler).
    void reconcile_counts(CountReconciler& counts) { reconciler_ = &counts; }

    std::string_view name() const override { return kPoolSampleJobName; }
    // Counts: sampled_at, allocations, pruned (and pool_low / pool_recovered when this run
    // recorded a crossing; counts_corrected, counts_deferred when it reconciled the counts).
    JobRunResult run(RunControl& control) override;

  private:
    Store& store_;
    DashboardStore& dashboard_;
    const Clock& clock_;
    int retention_days_;
    PoolAlertStore* alerts_ = nullptr;
    CountReconciler* reconciler_ = nullptr;
    PoolWatermarkSettings watermark_;
};

}  // namespace broker
