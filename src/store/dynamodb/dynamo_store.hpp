// The DynamoDB store: the original service's table as it is (its `SBX#` items and three
// indexes), served with the broker's contracts. DynamoDB has single-item atomicity only (and
// the emulator the tests use has no transactions), so every multi-item protocol rests on
// conditional single-item writes ordered so that a crash between any two steps leaves
// nothing another request cannot repair:
//   - allocation: a participant's slot item (PART#p / SLOT#n, conditionally created) names
//     the sandbox being taken before the sandbox's own conditional update; a slot is valid
//     while its sandbox is allocated to the participant under the slot's key, in progress
//     for a short while after it was written, and stale (removed by the next request)
//     otherwise. Idempotency and the per-participant limit are thus decided by strongly
//     consistent reads of the participant's own items, never by an index;
//   - deletion claims: a DEL#id item per sandbox being deleted (worker, lease, next attempt);
//   - job leases and runs: conditional updates of one item per job and one per run.
// Index reads (eventually consistent) only find candidates; every change is conditional on
// the item itself. History events are written right after the change they record.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/dashboard_store.hpp"
#include "store/dynamodb/aws_credentials.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/dynamo_items.hpp"
#include "store/dynamodb/dynamo_options.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/pool_change.hpp"
#include "store/schema_steps.hpp"
#include "store/store.hpp"

namespace broker {

// The broker's schema version on a DynamoDB table (the BROKER#SCHEMA item).
inline constexpr int kDynamoSchemaVersion = 1;

// The table's schema steps (`version` and `migrate --status` print them).
std::span<const SchemaStep> dynamo_schema_steps();

// How long a participant's slot may name a sandbox not yet allocated to it before another
// request takes it for the remains of a crashed allocation (seconds of the request's clock).
inline constexpr UnixSeconds kDynamoSlotTimeout = 30;

// The most one allocation spends on its steps up to the take (across the client's retries),
// well under kDynamoSlotTimeout; the slot's confirmation and an undo are not cut short.
inline constexpr std::chrono::seconds kDynamoAllocationBudget{10};

class DynamoStore final : public Store, public LifecycleStore, public JobStateStore, public DashboardStore,
                              public PoolChangeSource {
  public:
    // Connects lazily: constructing never fails for an unreachable endpoint (ping() tells).
    DynamoStore(DynamoOptions options, std::shared_ptr<AwsCredentialProvider> credentials);
    ~DynamoStore() override;

    // Store
    MigrationReport migrate() override;
    SchemaStatus schema_status() override;
    AllocateResult allocate(const AllocateRequest& request) override;
    std::optional<Sandbox> get(const std::string& sandbox_id) override;
    MarkResult mark_for_deletion(const MarkForDeletionRequest& request) override;
    UpsertSummary upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                            UnixSeconds now) override;
    StatusCounts count_by_status() override;
    ListPage list(const ListQuery& query) override;
    void ping() override;
    ExtendResult extend_lease(const ExtendLeaseRequest& request) override;

    // LifecycleStore
    SyncSummary sync_pool(std::span<const ProviderSandbox> listed, UnixSeconds now) override;
    std::vector<Sandbox> expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) override;
    std::vector<Sandbox> claim_for_deletion(const DeletionClaim& claim) override;
    bool record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                        DeletedHow how = DeletedHow::deleted_by_broker) override;
    bool record_deletion_failure(const DeletionFailure& failure) override;
    std::int64_t renew_deletion_claims(std::span<const std::string> sandbox_ids, const std::string& worker_id,
                                       UnixSeconds now, UnixSeconds lease_until) override;
    std::int64_t release_deletion_claims(std::span<const std::string> sandbox_ids,
                                         const std::string& worker_id, UnixSeconds now) override;
    std::int64_t remove_stale(UnixSeconds stale_before, UnixSeconds now, const std::string& actor) override;
    std::int64_t bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) override;
    std::vector<SandboxEvent> history(const std::string& sandbox_id) override;
    std::int64_t prune_history(UnixSeconds before) override;
    std::int64_t insert_copied(std::span<const CopiedSandbox> sandboxes) override;

    // JobStateStore
    bool try_start_job(const JobStartRequest& request) override;
    bool renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds now,
                         UnixSeconds lease_until, const std::string& progress) override;
    bool finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                    const std::string& result) override;
    void set_job_paused(const std::string& job, bool paused, UnixSeconds now) override;
    std::int64_t request_job_run(const std::string& job, UnixSeconds now) override;
    std::optional<JobRun> job_run(const std::string& job, std::int64_t run_id) override;
    std::vector<JobState> job_states() override;
    // DashboardStore (dynamo_dashboard.cpp)
    ListPage search(const SandboxSearch& query) override;
    AllocationWindowStats allocation_window(const AllocationWindowQuery& query) override;
    std::int64_t count_allocated_between(UnixSeconds from, UnixSeconds to) override;
    CleanupBacklog cleanup_backlog(UnixSeconds now) override;
    std::vector<DeletionFailureInfo> deletion_failures(int limit) override;
    void record_pool_sample(const PoolSample& sample) override;
    std::vector<PoolSample> pool_samples(UnixSeconds from, UnixSeconds to, int limit) override;
    std::int64_t prune_pool_samples(UnixSeconds before) override;

    const DynamoOptions& options() const { return options_; }

    // PoolChangeSource: told after sync and upsert commits that add available sandboxes.
    void set_pool_change_listener(PoolChangeListener* listener) override { pool_changes_.set(listener); }

  private:
    // A participant's allocation slot item (PART#<participant> / SLOT#<n>).
    struct Slot {
        std::string sort_key;  // SLOT#<n>
        int index = 0;
        std::string sandbox_id;
        std::string key;  // the idempotency key it was taken under
        std::string token;
        UnixSeconds taken_at = 0;
        bool confirmed = false;  // its sandbox was taken and the slot confirmed afterwards
    };

    // Whether an item (null: absent) shows a write of this request's own.
    using ShowsOwnWrite = std::function<bool(const ddb::Item* item)>;

    // Reads
    std::optional<ddb::Item> get_item(const std::string& pk, const std::string& sk, bool consistent = true);
    std::vector<ddb::Item> query_all(nlohmann::json request, std::size_t max_items = SIZE_MAX);
    std::vector<ddb::Item> by_status(SandboxStatus status, std::size_t max_items = SIZE_MAX);
    std::vector<ddb::Item> batch_get(const std::vector<ddb::Item>& keys);
    // A conditional write. When its condition failed on a retry after an attempt that may have
    // been applied, the item is read (consistently) and, if `own` recognises this request's
    // write in it, the reply is success with that item as its Attributes: the earlier
    // attempt's answer was lost, not the race.
    ddb::DynamoReply write(std::string_view operation, nlohmann::json request, const ShowsOwnWrite& own = {});
    // Writes: true when done, false when the condition failed; anything else throws.
    bool conditional(std::string_view operation, nlohmann::json request, const ShowsOwnWrite& own = {});
    void record(const std::string& sandbox_id, UnixSeconds at, std::optional<SandboxStatus> from,
                std::optional<SandboxStatus> to, const std::string& actor, const std::string& reason);

    // Allocation steps (dynamo_allocate.cpp)
    std::vector<Slot> read_slots(const std::string& participant);
    void drop_slot(const std::string& participant, const Slot& slot, bool with_key, bool unconfirmed_only);
    bool confirm_slot(const std::string& participant, Slot& slot);
    void undo_take(const AllocateRequest& r, const std::string& sandbox_id);
    std::vector<std::string> find_candidates(const std::string& prefix, std::size_t want,
                                             const std::vector<std::string>& tried, bool from_start);
    AllocateOutcome nothing_available(const std::string& prefix);
    std::optional<Sandbox> take(const AllocateRequest& r, const std::string& sandbox_id);
    void remember_position(const std::string& sandbox_id);
    std::optional<std::string> random_position();
    std::size_t positions_size();
    // Gives an allocation that has no slot (made by the original service, or copied) one.
    void adopt_allocation(const Sandbox& sandbox, UnixSeconds now);

    UpsertSummary upsert(std::span<const ProviderSandbox> sandboxes, UnixSeconds now);
    std::vector<JobRun> runs_of(const std::string& job);

    DynamoOptions options_;
    ddb::DynamoClient client_;
    std::mutex positions_mutex_;
    std::vector<std::string> positions_;  // sandbox ids seen available: random start points
    std::atomic<int> allocating_{0};      // allocations in progress in this process
    PoolChangeNotifier pool_changes_;
};

}  // namespace broker
