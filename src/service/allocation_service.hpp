// The participant operations: allocate, look up, return. Validates input, applies the
// lease policy and the clock, and leaves every state change to one atomic Store call.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/lifecycle.hpp"
#include "store/async_writes.hpp"
#include "store/store.hpp"

namespace broker {

struct Participant {
    std::string id;          // X-Instruqt-Sandbox-ID, or the legacy X-Track-ID
    std::string track_name;  // X-Instruqt-Track-ID; may be empty
};

struct AllocateInput {
    Participant participant;
    std::string idempotency_key;  // empty: the participant id
    std::string name_prefix;      // empty: any sandbox
};

enum class LookupOutcome { found, not_found, not_owner };

struct LookupResult {
    LookupOutcome outcome = LookupOutcome::not_found;
    std::optional<Sandbox> sandbox;
};

class AllocationService {
  public:
    // `max_per_participant`: MAX_SANDBOXES_PER_PARTICIPANT, at least 1. `async`: the same
    // store's callback writes, when it has them (SQLite), else null.
    AllocationService(Store& store, const Clock& clock, LeasePolicy lease, int max_per_participant = 1,
                      AsyncWriteStore* async = nullptr)
        : store_(store),
          async_(async),
          clock_(clock),
          lease_(lease),
          max_per_participant_(max_per_participant) {}

    // Gives the participant a sandbox, or the one its idempotency key (or, with a limit of
    // one sandbox per participant, the participant) already holds.
    AllocateResult allocate(const AllocateInput& input);
    // What allocate hands the store, for a caller that writes through async_writes().
    AllocateRequest allocate_request(const AllocateInput& input) const;

    // The sandbox, if the participant holds (or held) it.
    LookupResult get(const std::string& sandbox_id, const std::string& participant_id);

    // Returns the participant's sandbox for deletion; idempotent for its owner.
    MarkResult mark_for_deletion(const std::string& sandbox_id, const std::string& participant_id);
    MarkForDeletionRequest mark_request(const std::string& sandbox_id,
                                        const std::string& participant_id) const;

    // The store's writes that call back instead of blocking a thread, where it has them
    // (the SQLite store): the same requests, the same results. Null otherwise.
    AsyncWriteStore* async_writes() const { return async_; }

    // Moves the participant's lease end by `seconds` (> 0, validated by the caller), up to the
    // lease's cap.
    ExtendResult extend_lease(const std::string& sandbox_id, const std::string& participant_id,
                              std::int64_t seconds);

    const LeasePolicy& lease() const { return lease_; }

  private:
    Store& store_;
    AsyncWriteStore* async_;
    const Clock& clock_;
    LeasePolicy lease_;
    int max_per_participant_;
};

}  // namespace broker
