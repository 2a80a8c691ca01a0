// The embedded store: one SQLite file in WAL mode with durable commits. Writes from
// concurrent callers are queued to one writer thread that runs them in a single
// transaction (group commit), so one fsync serves many allocations; reads use their own
// connections and never wait for the writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "store/async_writes.hpp"
#include "store/dashboard_store.hpp"
#include "store/event_store.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/outbox.hpp"
#include "store/pool_alert_store.hpp"
#include "store/pool_change.hpp"
#include "store/store.hpp"
#include "store/webhook_store.hpp"

namespace broker {

struct SqliteOptions {
    std::string path;                  // database file, created owner-only (0600) when missing
    bool create_dir = false;           // create a missing directory; otherwise a ConfigError
    std::size_t max_batch = 256;       // writes per transaction at most
    std::size_t max_queue = 16384;     // queued writes at most; beyond it, Overloaded
    int busy_timeout_ms = 5000;        // another process holding the write lock
    std::size_t read_connections = 4;  // reader pool size; readers beyond it wait their turn
    // Rows per transaction of the large writes (sync, import, bulk and stale removal, history
    // pruning): each chunk is a write of its own, taking turns with the batches of small
    // writes, so an allocation waits behind one chunk at most. 0: each large write in one
    // transaction (for comparison in benchmarks).
    std::size_t bulk_chunk_rows = 1000;
};

// What the writer has done so far: for tests and benchmarks (ops / batches = group size).
struct SqliteWriteStats {
    std::uint64_t batches = 0;  // transactions committed
    std::uint64_t ops = 0;      // writes committed in them
    std::size_t largest_batch = 0;
    std::size_t queued = 0;    // writes waiting for a batch right now
    std::size_t in_batch = 0;  // writes in the batch being run right now
};

class SqliteStore final : public Store,
                          public LifecycleStore,
                          public JobStateStore,
                          public DashboardStore,
                          public PoolChangeSource,
                          public AsyncWriteStore,
                          public EventStore,
                          public PoolAlertStore,
                          public OutboxControl,
                          public WebhookStore {
  public:
    // Opens (creating if needed) the database and holds its lock file (store_file.hpp) for
    // its life; throws StoreUnavailable when it cannot, or when another process holds the
    // lock, and ConfigError when the directory is missing and may not be created.
    // Call migrate() before use.
    explicit SqliteStore(SqliteOptions options);
    ~SqliteStore() override;

    MigrationReport migrate() override;
    SchemaStatus schema_status() override;
    AllocateResult allocate(const AllocateRequest& request) override;
    std::optional<Sandbox> get(const std::string& sandbox_id) override;
    MarkResult mark_for_deletion(const MarkForDeletionRequest& request) override;
    // The same two writes, called back by the group-commit writer (store/async_writes.hpp).
    void allocate_async(const AllocateRequest& request, AllocateDone done) override;
    void mark_for_deletion_async(const MarkForDeletionRequest& request, MarkDone done) override;
    UpsertSummary upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                            UnixSeconds now) override;
    StatusCounts count_by_status() override;
    ListPage list(const ListQuery& query) override;
    void ping() override;
    ExtendResult extend_lease(const ExtendLeaseRequest& request) override;
    void create_reservation(const Reservation& reservation) override;
    std::vector<Reservation> list_reservations() override;
    std::optional<Reservation> get_reservation(const std::string& id) override;
    bool cancel_reservation(const std::string& id) override;
    void set_track_limit(const std::string& track, std::int64_t max_active) override;
    bool remove_track_limit(const std::string& track) override;
    std::vector<TrackLimit> list_track_limits(UnixSeconds now) override;
    std::int64_t count_available(const std::string& name_prefix) override;

    // upsert_provider_sandboxes and sync_part write in chunks of bulk_chunk_rows, each its own
    // transaction: a failure leaves the chunks before it written, and running the same
    // list again is safe (an upsert of what is there changes nothing).
    // LifecycleStore: writes through the group-commit writer, reads from the reader pool.
    // The stale marking of finish_sync runs in chunks too.
    UpsertSummary sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                            UnixSeconds now) override;
    std::int64_t finish_sync(std::int64_t pass, UnixSeconds now) override;
    void abandon_sync(std::int64_t pass) override;
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
    // In chunks of bulk_chunk_rows sandboxes, each a transaction of its own with their history.
    std::int64_t insert_copied(std::span<const CopiedSandbox> sandboxes) override;

    // JobStateStore.
    bool try_start_job(const JobStartRequest& request) override;
    bool renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds now,
                         UnixSeconds lease_until, const std::string& progress) override;
    bool finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                    const std::string& result) override;
    void set_job_paused(const std::string& job, bool paused, UnixSeconds now) override;
    std::int64_t request_job_run(const std::string& job, UnixSeconds now) override;
    std::optional<JobRun> job_run(const std::string& job, std::int64_t run_id) override;
    std::vector<JobState> job_states() override;
    // DashboardStore: reads from the reader pool, sample writes through the writer.
    ListPage search(const SandboxSearch& query) override;
    AllocationWindowStats allocation_window(const AllocationWindowQuery& query) override;
    std::int64_t count_allocated_between(UnixSeconds from, UnixSeconds to) override;
    CleanupBacklog cleanup_backlog(UnixSeconds now) override;
    std::vector<DeletionFailureInfo> deletion_failures(int limit) override;
    void record_pool_sample(const PoolSample& sample) override;
    std::vector<PoolSample> pool_samples(UnixSeconds from, UnixSeconds to, int limit) override;
    std::int64_t prune_pool_samples(UnixSeconds before) override;

    // EventStore: events written by the writer in the change's batch, read from the reader
    // pool (a reader sees committed batches only, in id order).
    std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) override;
    void append_event(std::string_view type, std::string_view data_json, UnixSeconds now) override;
    std::int64_t last_event_id() override;
    std::int64_t prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) override;
    // PoolAlertStore.
    bool pool_low() override;
    bool set_pool_low(bool low, std::string_view data_json, UnixSeconds now) override;
    // WebhookStore (sqlite/webhook_ops): writes through the writer, reads from the reader pool.
    void create_webhook(const WebhookSubscription& subscription) override;
    std::vector<WebhookSubscription> list_webhooks() override;
    std::optional<WebhookSubscription> get_webhook(const std::string& id) override;
    bool delete_webhook(const std::string& id) override;
    bool disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) override;
    bool enable_webhook(const std::string& id) override;
    bool enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                            std::int64_t to_cursor, std::span<const OutboxEvent> events,
                            UnixSeconds now) override;
    std::vector<WebhookDelivery> claim_deliveries(const DeliveryClaim& claim) override;
    bool record_attempt(const DeliveryAttempt& attempt) override;
    std::vector<bool> record_attempts(std::span<const DeliveryAttempt> attempts) override;
    DeliveryPage list_deliveries(const std::string& subscription_id, std::optional<std::int64_t> before,
                                 int limit) override;
    std::optional<WebhookDelivery> get_delivery(const std::string& subscription_id,
                                                std::int64_t delivery_id) override;
    std::optional<WebhookDelivery> redeliver(const std::string& subscription_id, std::int64_t delivery_id,
                                             UnixSeconds now) override;
    std::int64_t count_pending(const std::string& subscription_id) override;
    std::int64_t prune_deliveries(UnixSeconds before) override;

    SqliteWriteStats write_stats() const;

    // PoolChangeSource: told after sync and upsert commits that add available sandboxes.
    void set_pool_change_listener(PoolChangeListener* listener) override { pool_changes_.set(listener); }

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    PoolChangeNotifier pool_changes_;
};

}  // namespace broker
