#include "service/allocation_service.hpp"

namespace broker {

AllocateResult AllocationService::allocate(const AllocateInput& input) {
    return store_.allocate(allocate_request(input));
}

AllocateRequest AllocationService::allocate_request(const AllocateInput& input) const {
    AllocateRequest request;
    request.participant_id = input.participant.id;
    request.idempotency_key = input.idempotency_key.empty() ? input.participant.id : input.idempotency_key;
    request.track_name = input.participant.track_name;
    request.name_prefix = input.name_prefix;
    request.now = clock_.now();
    request.lease = lease_;
    request.max_per_participant = max_per_participant_;
    return request;
}

LookupResult AllocationService::get(const std::string& sandbox_id, const std::string& participant_id) {
    auto sandbox = store_.get(sandbox_id);
    if (!sandbox) return {LookupOutcome::not_found, std::nullopt};
    // A participant sees only what it holds or returned; pool rows are an admin's business.
    if (sandbox->allocated_to_track != participant_id) return {LookupOutcome::not_owner, std::nullopt};
    return {LookupOutcome::found, std::move(sandbox)};
}

MarkResult AllocationService::mark_for_deletion(const std::string& sandbox_id,
                                                const std::string& participant_id) {
    return store_.mark_for_deletion(mark_request(sandbox_id, participant_id));
}

MarkForDeletionRequest AllocationService::mark_request(const std::string& sandbox_id,
                                                       const std::string& participant_id) const {
    return {sandbox_id, participant_id, clock_.now(), lease_};
}

ExtendResult AllocationService::extend_lease(const std::string& sandbox_id, const std::string& participant_id,
                                             std::int64_t seconds) {
    return store_.extend_lease({sandbox_id, participant_id, seconds, clock_.now(), lease_});
}

}  // namespace broker
