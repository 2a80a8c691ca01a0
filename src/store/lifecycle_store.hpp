// The lifecycle maintenance the background jobs perform (ARCHITECTURE §4): sync with the
// provider's list, expiry, claimed and retried deletion, stale removal, bulk removal, and
// the transition history. Like Store, every change is one atomic conditional change, so
// several workers and API replicas can share one store; a store implements both.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.hpp"

namespace broker {

// How the cleanup job learned that a sandbox is gone, for the reason its history records.
enum class DeletedHow {
    deleted_by_broker,  // the provider accepted our delete
    already_gone,       // the provider answered 404: deleted earlier (before a crash, or by hand)
};

inline std::string_view deleted_reason(DeletedHow how) {
    return how == DeletedHow::already_gone ? "already gone at the provider (404 on delete)"
                                           : "deleted at the provider by the broker";
}

// A cleanup worker's claim on sandboxes due for deletion. While `lease_until` has not
// passed, no other worker claims them; after a crash the lease runs out and another does.
struct DeletionClaim {
    std::string worker_id;
    UnixSeconds now = 0;
    UnixSeconds lease_until = 0;
    int limit = 10;
};

struct DeletionFailure {
    std::string sandbox_id;
    std::string worker_id;  // only the claim's holder may record a failure
    UnixSeconds now = 0;
    UnixSeconds next_attempt_at = 0;
    int max_attempts = 5;  // the attempt that reaches it moves the sandbox to deletion_failed
    std::string reason;
};

// One recorded transition of a sandbox.
struct SandboxEvent {
    std::int64_t id = 0;
    std::string sandbox_id;
    UnixSeconds at = 0;
    std::optional<SandboxStatus> from;  // none when the row was created
    std::optional<SandboxStatus> to;    // none when the row was removed
    std::string actor;                  // participant id, job name or "admin"
    std::string reason;
};

// One sandbox as another store holds it, for `sandbox-broker copy`.
struct CopiedSandbox {
    Sandbox sandbox;
    std::vector<SandboxEvent> history;  // oldest first; empty when the source keeps none
};

class LifecycleStore {
  public:
    virtual ~LifecycleStore() = default;

    // The sync with the provider's list, read in parts (the sync job streams it): each part is
    // upserted as upsert_provider_sandboxes does and its sandboxes are recorded as listed by
    // `pass`, a number the sync draws at random and uses for nothing else. Parts may repeat a
    // sandbox; a pass may span any number of calls, connections or replicas.
    virtual UpsertSummary sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                                    UnixSeconds now) = 0;
    // After the whole list was read, valid: every available sandbox no part of `pass` listed
    // becomes stale (stale_since = now), each only if still available. Forgets the pass.
    // Returns how many were marked.
    virtual std::int64_t finish_sync(std::int64_t pass, UnixSeconds now) = 0;
    // The list failed or was cut off: nothing is marked stale; the pass is forgotten.
    virtual void abandon_sync(std::int64_t pass) = 0;

    // Moves allocations whose lease ran out at `now` to pending_deletion (actor
    // "auto_expiry"), at most `limit`; each change conditional on the row still being that
    // allocation, so a concurrent return is never clobbered. Returns the rows moved.
    virtual std::vector<Sandbox> expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) = 0;

    // Atomically claims up to claim.limit sandboxes due for deletion: pending_deletion, or
    // deletion_failed whose next attempt is due, not claimed by a live lease. Oldest first.
    virtual std::vector<Sandbox> claim_for_deletion(const DeletionClaim& claim) = 0;

    // The provider no longer has the sandbox: pending_deletion or deletion_failed -> deleted,
    // whoever holds the claim (the deletion happened). False when it is in another status.
    // `how` becomes the history event's reason (deleted_reason).
    virtual bool record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                                DeletedHow how = DeletedHow::deleted_by_broker) = 0;

    // The claimant's heartbeat: extends its claims on `sandbox_ids` (those it still holds) to
    // lease_until. Returns how many it still held.
    virtual std::int64_t renew_deletion_claims(std::span<const std::string> sandbox_ids,
                                               const std::string& worker_id, UnixSeconds now,
                                               UnixSeconds lease_until) = 0;

    // Gives the worker's claims on `sandbox_ids` back at once (a run that stops early), so the
    // next run takes them without waiting for the lease. Returns how many it held.
    virtual std::int64_t release_deletion_claims(std::span<const std::string> sandbox_ids,
                                                 const std::string& worker_id, UnixSeconds now) = 0;

    // A failed provider delete: counts the attempt, schedules the next, releases the claim;
    // the attempt reaching max_attempts moves the sandbox to deletion_failed. False when
    // the worker no longer holds the claim.
    virtual bool record_deletion_failure(const DeletionFailure& failure) = 0;

    // Removes sandboxes stale since before `stale_before` (their history stays). Returns how many.
    virtual std::int64_t remove_stale(UnixSeconds stale_before, UnixSeconds now,
                                      const std::string& actor) = 0;

    // Removes every sandbox in `status` from the store, never touching the provider; the
    // caller refuses `allocated`. Returns how many.
    virtual std::int64_t bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) = 0;

    // The sandbox's recorded transitions, oldest first.
    virtual std::vector<SandboxEvent> history(const std::string& sandbox_id) = 0;

    // Forgets transitions recorded before `before`. Returns how many.
    virtual std::int64_t prune_history(UnixSeconds before) = 0;

    // Writes the sandboxes exactly as given (status, owner, key, times, retry count) with their
    // history, skipping any whose id the store already has. Returns how many were written.
    // `version` (the compare-and-set token) is the target store's own, never copied.
    virtual std::int64_t insert_copied(std::span<const CopiedSandbox> sandboxes) = 0;
};

}  // namespace broker
