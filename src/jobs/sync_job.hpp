// The sync job: the provider's list becomes the pool. New sandboxes become available, stale
// ones seen again come back, available ones the provider no longer lists become stale; held
// and deleting ones are never touched. The list is streamed: each part is upserted as it
// arrives, under a pass the store records, and only once the whole list was read, valid, are
// the available sandboxes the pass did not list marked stale. A failed or cut-off list marks
// nothing stale (the parts read before the failure stay upserted).
#pragma once

#include <cstddef>

#include "jobs/job.hpp"
#include "obs/broker_metrics.hpp"
#include "provider/provider.hpp"
#include "store/lifecycle_store.hpp"

namespace broker {

class SyncJob final : public Job {
  public:
    // Sandboxes per store write: enough to amortise a transaction, few enough to keep flat.
    static constexpr std::size_t kPartSize = 10000;

    // `metrics` may be null (no counting).
    SyncJob(Provider& provider, LifecycleStore& store, const Clock& clock, JobMetrics* metrics = nullptr,
            std::size_t part_size = kPartSize);

    std::string_view name() const override { return kSyncJobName; }
    // Counts: listed, ignored, inserted, revived, refreshed, skipped, marked_stale (a failed
    // list: the upsert counts of the parts read). Reports received and the upsert counts as
    // progress after each part; stops early, marking nothing, when the lease is lost.
    JobRunResult run(RunControl& control) override;

  private:
    Provider& provider_;
    LifecycleStore& store_;
    const Clock& clock_;
    JobMetrics* metrics_;
    std::size_t part_size_;
};

}  // namespace broker
