// The sync job: the provider's list becomes the pool. New sandboxes become available, stale
// ones seen again come back, available ones the provider no longer lists become stale; held
// and deleting ones are never touched. A failed list changes nothing.
#pragma once

#include "jobs/job.hpp"
#include "obs/broker_metrics.hpp"
#include "provider/provider.hpp"
#include "store/lifecycle_store.hpp"

namespace broker {

class SyncJob final : public Job {
  public:
    // `metrics` may be null (no counting).
    SyncJob(Provider& provider, LifecycleStore& store, const Clock& clock, JobMetrics* metrics = nullptr);

    std::string_view name() const override { return kSyncJobName; }
    // Counts: listed, ignored, inserted, revived, refreshed, skipped, marked_stale. Reports
    // listed and ignored as progress before the store writes.
    JobRunResult run(RunControl& control) override;

  private:
    Provider& provider_;
    LifecycleStore& store_;
    const Clock& clock_;
    JobMetrics* metrics_;
};

}  // namespace broker
