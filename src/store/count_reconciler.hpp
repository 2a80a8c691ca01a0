// Counts by status that a store maintains with writes of their own, apart from the changes
// they count (the DynamoDB store, which has no transactions): a crash between a change and its
// count, or a writer that does not keep the counts, makes them drift, and a reconcile counts
// the sandboxes again and repairs them. The jobs run it; the SQL stores keep their counts in
// the change's own transaction and have no such part.
#pragma once

#include <cstdint>
#include <vector>

#include "core/sandbox.hpp"

namespace broker {

struct CountReconcileReport {
    bool ran = false;                     // false: the last complete reconcile is younger than its period
    std::int64_t corrected = 0;           // the sum of the corrections' sizes (0: the counts were true)
    std::vector<SandboxStatus> deferred;  // statuses that kept changing during their recount
};

class CountReconciler {
  public:
    virtual ~CountReconciler() = default;

    // Recounts and repairs the counts when no complete reconcile happened in the store's
    // period before `now` (or none ever did); otherwise does nothing.
    virtual CountReconcileReport reconcile_counts_if_due(UnixSeconds now) = 0;
};

}  // namespace broker
