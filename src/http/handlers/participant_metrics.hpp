// What the participant endpoints count, in the original's metric names: allocations by
// outcome (success, idempotent, no_sandboxes, error) with their latency, idempotent hits, races lost to
// concurrent allocations, and mark-for-deletion requests by outcome. Handles are resolved once, at
// construction; a default-constructed object counts nothing (for tests and tools without a registry). Each
// method returns the outcome word, which the access log reuses.
#pragma once

#include <chrono>
#include <string_view>

#include "obs/broker_metrics.hpp"
#include "store/store.hpp"

namespace broker {

class ParticipantMetrics {
  public:
    ParticipantMetrics() = default;
    explicit ParticipantMetrics(ApiMetrics& metrics);

    // `conflicts`: races the store reports the allocation lost on the way (AllocateResult).
    std::string_view allocation(AllocateOutcome outcome, std::chrono::steady_clock::duration latency,
                                int conflicts = 0);
    // The allocation failed unexpectedly (store down, overloaded).
    std::string_view allocation_failed(std::chrono::steady_clock::duration latency);

    std::string_view mark(MarkOutcome outcome);
    std::string_view mark_failed();

    // Lease extensions (broker_lease_extensions_total{outcome}).
    std::string_view extension(ExtendOutcome outcome);
    std::string_view extension_invalid();  // refused for its body (400)
    std::string_view extension_failed();

  private:
    // An allocation that ended without a sandbox, other than an empty pool.
    void count_error(std::chrono::steady_clock::duration latency);

    ApiMetrics* metrics_ = nullptr;
    Counter marked_success_, marked_idempotent_, marked_not_owner_, marked_expired_, marked_not_found_,
        marked_error_;
    Counter extended_, extension_capped_, extension_limit_, extension_not_allocated_, extension_not_owner_,
        extension_not_found_, extension_invalid_, extension_error_;
};

}  // namespace broker
