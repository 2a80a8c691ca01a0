// The Store: where sandboxes live. Every method that changes state is one atomic,
// conditional change (status, owner and version compared inside the store), so several
// API replicas and workers can share one store without undoing each other. Outcomes a
// caller branches on are returned as values; only an unreachable or failing store throws
// (StoreUnavailable, or Overloaded when a bounded queue is full).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/lifecycle.hpp"
#include "core/quota.hpp"
#include "core/sandbox.hpp"

namespace broker {

struct AllocateRequest {
    std::string participant_id;   // X-Instruqt-Sandbox-ID (or legacy X-Track-ID)
    std::string idempotency_key;  // Idempotency-Key header, else the participant id; the participant's own
    std::string track_name;       // X-Instruqt-Track-ID, may be empty
    std::string name_prefix;      // only sandboxes whose name starts with it, byte for byte; empty = any
    UnixSeconds now = 0;
    LeasePolicy lease;
    int max_per_participant = 1;  // MAX_SANDBOXES_PER_PARTICIPANT
};

enum class AllocateOutcome {
    allocated,        // a sandbox went from available to allocated for this request
    existing,         // the participant's key (with a limit of 1: the participant) holds it; nothing changed
    pool_empty,       // no available sandbox (matching the prefix)
    no_prefix_match,  // no sandbox of the pool, in any status, has a name starting with the prefix
    expired,          // the holding that would answer ran past its lease (decide_allocation)
    limit_reached,    // the participant holds max_per_participant sandboxes under other keys
    // Something is available, but other tracks' reservations hold all of it back (answered
    // as an empty pool: for this track there is nothing to take now).
    reserved_for_others,
    track_limit_reached,  // the request's track holds its limit's max_active sandboxes already
};

struct AllocateResult {
    AllocateOutcome outcome = AllocateOutcome::pool_empty;
    std::optional<Sandbox> sandbox;  // set for allocated, existing and expired
    // Races lost to concurrent allocations on the way to this answer, each decided again
    // (broker_allocate_conflicts_total). Zero where the store decides one allocation at a time.
    int conflicts = 0;
};

// The answer the participant's current holdings give (core's decide_allocation over them),
// or nothing when a new sandbox is to be taken. Each store calls it inside its allocation step.
inline std::optional<AllocateResult> answer_from_holdings(std::span<const Sandbox> holdings,
                                                          const AllocateRequest& r) {
    const AllocateVerdict verdict =
        decide_allocation(holdings, r.idempotency_key, r.now, r.lease, r.max_per_participant);
    switch (verdict.decision) {
        case AllocateDecision::existing:
            return AllocateResult{AllocateOutcome::existing, *verdict.holding};
        case AllocateDecision::expired:
            return AllocateResult{AllocateOutcome::expired, *verdict.holding};
        case AllocateDecision::limit_reached:
            return AllocateResult{AllocateOutcome::limit_reached, std::nullopt};
        case AllocateDecision::take:
            break;
    }
    return std::nullopt;
}

struct MarkForDeletionRequest {
    std::string sandbox_id;
    std::string participant_id;
    UnixSeconds now = 0;
    LeasePolicy lease;
};

struct MarkResult {
    MarkOutcome outcome = MarkOutcome::not_found;
    std::optional<Sandbox> sandbox;  // the row after the change, for marked / already_marked
};

struct ExtendLeaseRequest {
    std::string sandbox_id;
    std::string participant_id;
    std::int64_t seconds = 0;  // > 0; validated by the caller
    UnixSeconds now = 0;
    LeasePolicy lease;
};

struct ExtendResult {
    ExtendOutcome outcome = ExtendOutcome::not_found;
    std::optional<Sandbox> sandbox;   // the row after the change, for extended and capped
    UnixSeconds old_expires_at = 0;   // for extended, capped and limit_reached
    UnixSeconds max_expires_at = 0;   // the cap, for extended, capped and limit_reached
};

// The history reason of an extension: the old and the new expiry.
inline std::string extension_reason(UnixSeconds old_expires_at, UnixSeconds new_expires_at) {
    return "extended: expires_at " + std::to_string(old_expires_at) + " -> " + std::to_string(new_expires_at);
}

struct UpsertSummary {
    std::int64_t inserted = 0;   // new sandboxes now available
    std::int64_t revived = 0;    // stale sandboxes seen again, available again
    std::int64_t refreshed = 0;  // known sandboxes whose provider fields were refreshed
    std::int64_t skipped = 0;    // held, being deleted or deleted: left alone

    // The sums of two summaries: a list written in parts adds up its parts'.
    UpsertSummary& operator+=(const UpsertSummary& part) {
        inserted += part.inserted;
        revived += part.revived;
        refreshed += part.refreshed;
        skipped += part.skipped;
        return *this;
    }
};

struct ListQuery {
    std::optional<SandboxStatus> status;  // none: every status but deleted
    std::string after_sandbox_id;         // exclusive start of the page; empty: from the start
    int limit = 100;
};

struct ListPage {
    std::vector<Sandbox> items;             // ordered by sandbox_id
    std::optional<std::string> next_after;  // pass as after_sandbox_id for the next page
};

// What migrate() found and left: schema versions (0: no schema yet, a new store).
struct MigrationReport {
    int from_version = 0;
    int to_version = 0;
    bool created() const { return from_version == 0 && to_version > 0; }
    bool up_to_date() const { return from_version == to_version; }
};

// The store's schema next to this binary's (migrate --status, the start-up check).
struct SchemaStatus {
    int store_version = 0;             // steps applied (0: no schema yet)
    int binary_version = 0;            // steps this binary knows
    int compatible_from = 0;           // the oldest binary version that can run on the store
    std::vector<std::string> pending;  // the steps migrate() would apply, one line each
};

class Store {
  public:
    virtual ~Store() = default;

    // Creates or upgrades the schema; safe to call on every start. Never downgrades: a store
    // newer than this binary throws StoreUnavailable and is left as it is.
    virtual MigrationReport migrate() = 0;

    // The store's schema next to this binary's (migrate --status, the start-up check).
    // Reads only; creates nothing, not even on a new store.
    virtual SchemaStatus schema_status() = 0;

    // Atomically hands one available sandbox to the participant under the request's key, or
    // answers by decide_allocation (core/lifecycle) on what the participant holds. Never gives
    // one sandbox to two requests; one participant's key never holds two; a participant never
    // holds more than max_per_participant, however many requests race. Only when nothing is
    // available and a prefix was given does it look whether any sandbox matches the prefix.
    virtual AllocateResult allocate(const AllocateRequest& request) = 0;

    // The sandbox with this id, whatever its status.
    virtual std::optional<Sandbox> get(const std::string& sandbox_id) = 0;

    // Atomically moves the participant's unexpired allocation to pending_deletion; asking
    // again gives the same answer.
    virtual MarkResult mark_for_deletion(const MarkForDeletionRequest& request) = 0;

    // Inserts new provider sandboxes as available, revives stale ones, refreshes provider
    // fields of the rest; never changes a held or deleting sandbox's status. One transaction.
    virtual UpsertSummary upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                                    UnixSeconds now) = 0;

    // How many sandboxes are in each status (answered from an index).
    virtual StatusCounts count_by_status() = 0;

    // One page of sandboxes ordered by id; every row appears in exactly one page.
    virtual ListPage list(const ListQuery& query) = 0;

    // Throws StoreUnavailable unless the store answers a trivial query.
    virtual void ping() = 0;

    // Moves the participant's held, unexpired allocation's expires_at by the request's seconds,
    // never past the cap (decide_extension, core/lifecycle), with an `extended` history event,
    // as one change conditional on status, owner and the expires_at read: an extension racing
    // the expiry job either wins (the row is not expired on its old time) or answers
    // not_allocated.
    virtual ExtendResult extend_lease(const ExtendLeaseRequest& request) = 0;
    // Reservations and track limits (core/quota.hpp), which allocate() enforces in the same
    // atomic step as the allocation: a request of another track never takes what an active
    // reservation still holds back, a limited track never holds more than its max_active
    // (allocated, unexpired), and each allocation a reservation's track makes in its window
    // is charged to it (used + 1, up to its count) together with the allocation.

    // Stores a new reservation as given (its id chosen by the caller, used = 0).
    virtual void create_reservation(const Reservation& reservation) = 0;
    // Every reservation (ended ones too, until cancelled), ordered by starts_at, then id.
    virtual std::vector<Reservation> list_reservations() = 0;
    virtual std::optional<Reservation> get_reservation(const std::string& id) = 0;
    // Removes the reservation; false when there was none.
    virtual bool cancel_reservation(const std::string& id) = 0;
    // Creates or replaces the track's limit.
    virtual void set_track_limit(const std::string& track, std::int64_t max_active) = 0;
    // Removes the track's limit; false when there was none.
    virtual bool remove_track_limit(const std::string& track) = 0;
    // Every limit with what its track holds at `now` (allocated, unexpired), ordered by track.
    virtual std::vector<TrackLimit> list_track_limits(UnixSeconds now) = 0;
    // Available sandboxes whose name starts with the prefix (empty: all of them).
    virtual std::int64_t count_available(const std::string& name_prefix) = 0;
};

}  // namespace broker
