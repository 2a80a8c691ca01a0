// The PostgreSQL store: several API replicas and workers sharing one database. Allocation is
// one statement over FOR UPDATE SKIP LOCKED (concurrent callers take different rows instead
// of queueing on one), idempotency is a partial unique index, every transition is a
// conditional UPDATE committed with its event, job leases are rows. Calls run on a bounded
// connection pool: a full pool answers Overloaded, an unreachable or failing server
// StoreUnavailable (never a hang: statement_timeout and connect_timeout bound every call).
#pragma once

#include <memory>
#include <string>

#include "store/dashboard_store.hpp"
#include "store/event_store.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/outbox.hpp"
#include "store/pool_alert_store.hpp"
#include "store/pool_change.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/postgres/postgres_options.hpp"
#include "store/store.hpp"
#include "store/webhook_store.hpp"

namespace broker {

class PostgresStore final : public Store,
                            public LifecycleStore,
                            public JobStateStore,
                            public DashboardStore,
                            public PoolChangeSource,
                            public EventStore,
                            public PoolAlertStore,
                            public OutboxControl,
                            public WebhookStore {
  public:
    // Connects lazily: constructing never fails for an unreachable server (ping() tells).
    // Call migrate() before use.
    explicit PostgresStore(PostgresOptions options);
    ~PostgresStore() override;

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
    void create_reservation(const Reservation& reservation) override;
    std::vector<Reservation> list_reservations() override;
    std::optional<Reservation> get_reservation(const std::string& id) override;
    bool cancel_reservation(const std::string& id) override;
    void set_track_limit(const std::string& track, std::int64_t max_active) override;
    bool remove_track_limit(const std::string& track) override;
    std::vector<TrackLimit> list_track_limits(UnixSeconds now) override;
    std::int64_t count_available(const std::string& name_prefix) override;

    // LifecycleStore
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
    // EventStore (outbox_ops.cpp): reading sequences the committed pending events first.
    std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) override;
    void append_event(std::string_view type, std::string_view data_json, UnixSeconds now) override;
    std::int64_t last_event_id() override;
    std::int64_t prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) override;
    // PoolAlertStore
    bool pool_low() override;
    bool set_pool_low(bool low, std::string_view data_json, UnixSeconds now) override;
    // DashboardStore (dashboard_ops.cpp)
    ListPage search(const SandboxSearch& query) override;
    AllocationWindowStats allocation_window(const AllocationWindowQuery& query) override;
    std::int64_t count_allocated_between(UnixSeconds from, UnixSeconds to) override;
    CleanupBacklog cleanup_backlog(UnixSeconds now) override;
    std::vector<DeletionFailureInfo> deletion_failures(int limit) override;
    void record_pool_sample(const PoolSample& sample) override;
    std::vector<PoolSample> pool_samples(UnixSeconds from, UnixSeconds to, int limit) override;
    std::int64_t prune_pool_samples(UnixSeconds before) override;

    // WebhookStore (webhook_ops.cpp)
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

    pg::PoolStats pool_stats() const { return pool_.stats(); }

    // PoolChangeSource: told after sync and upsert commits that add available sandboxes.
    void set_pool_change_listener(PoolChangeListener* listener) override { pool_changes_.set(listener); }

  private:
    // Runs `fn(connection)` on a pooled connection and maps driver failures to the store's
    // exceptions (see postgres_store.cpp).
    template <class Fn>
    auto run(const char* what, Fn&& fn);

    const int bulk_timeout_ms_;
    pg::ConnectionPool pool_;
    PoolChangeNotifier pool_changes_;
};

}  // namespace broker
