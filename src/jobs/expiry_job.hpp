// The auto_expiry job: allocations held past lab duration + grace go to pending_deletion, in
// bounded batches, each change conditional in the store so a concurrent return wins cleanly.
#pragma once

#include "core/lifecycle.hpp"
#include "jobs/job.hpp"
#include "obs/broker_metrics.hpp"
#include "store/lifecycle_store.hpp"

namespace broker {

struct ExpirySettings {
    LeasePolicy lease;              // the same policy the API allocates with
    int batch_size = 100;           // rows per store transaction
    int max_batches_per_run = 100;  // the rest waits for the next run
};

class AutoExpiryJob final : public Job {
  public:
    AutoExpiryJob(LifecycleStore& store, const Clock& clock, ExpirySettings settings,
                  JobMetrics* metrics = nullptr);

    std::string_view name() const override { return kAutoExpiryJobName; }
    // Counts: expired, batches (store transactions that expired something). Reports progress
    // after each batch; stops between batches once the job's lease is lost.
    JobRunResult run(RunControl& control) override;

  private:
    LifecycleStore& store_;
    const Clock& clock_;
    ExpirySettings settings_;
    JobMetrics* metrics_;
};

}  // namespace broker
