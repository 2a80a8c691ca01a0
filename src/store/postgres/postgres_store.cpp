// PostgresStore: each operation borrows a pooled connection and runs the SQL of
// sandbox_ops / lifecycle_ops on it. The one place driver failures become store errors.
#include "store/postgres/postgres_store.hpp"

#include <limits>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "core/errors.hpp"
#include "store/postgres/copy_ops.hpp"
#include "store/postgres/dashboard_ops.hpp"
#include "store/postgres/lifecycle_ops.hpp"
#include "store/postgres/outbox_ops.hpp"
#include "store/postgres/pg_sql.hpp"
#include "store/postgres/quota_ops.hpp"
#include "store/postgres/sandbox_ops.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/webhook_ops.hpp"

namespace broker {
namespace {

// A sync pass that has not ended after a day never will (its process is gone): its listed ids
// are forgotten with the next pass that ends.
constexpr UnixSeconds kForgetSyncPassAfter = 24 * 3600;

}  // namespace

// A broken connection is thrown away. If it had been sitting in the pool it most likely died
// with a server restart before this call sent anything that could commit, so the call is
// tried once more on a fresh connection; a commit whose outcome is unknown (in_doubt) is
// never retried. Everything else the driver reports becomes StoreUnavailable: the caller
// answers 503 and may retry; the connection stays in the pool unless it broke.
template <class Fn>
auto PostgresStore::run(const char* what, Fn&& fn) {
    for (int attempt = 1;; ++attempt) {
        auto lease = pool_.acquire();
        try {
            pg::apply_outbox_session(*lease, *this);
            return fn(*lease);
        } catch (const pqxx::in_doubt_error& e) {
            lease.discard();
            throw StoreUnavailable(std::string("PostgreSQL ") + what +
                                   ": commit outcome unknown: " + e.what());
        } catch (const pqxx::broken_connection& e) {
            const bool retry = lease.reused() && attempt == 1;
            lease.discard();
            if (!retry)
                throw StoreUnavailable(std::string("PostgreSQL ") + what + ": connection lost: " + e.what());
        } catch (const pqxx::sql_error& e) {
            if (!lease->is_open()) lease.discard();
            throw StoreUnavailable(std::string("PostgreSQL ") + what + " failed (SQLSTATE " + e.sqlstate() +
                                   "): " + e.what());
        } catch (const pqxx::failure& e) {
            lease.discard();
            throw StoreUnavailable(std::string("PostgreSQL ") + what + " failed: " + e.what());
        } catch (const pqxx::usage_error& e) {
            lease.discard();
            throw StoreUnavailable(std::string("PostgreSQL ") + what + " failed: " + e.what());
        }
    }
}

PostgresStore::PostgresStore(PostgresOptions options)
    : bulk_timeout_ms_(options.bulk_statement_timeout_ms), pool_(std::move(options)) {}

PostgresStore::~PostgresStore() = default;

MigrationReport PostgresStore::migrate() {
    const int from = run("migrate", [](pqxx::connection& c) { return pg::apply_migrations(c); });
    return {from, pg::latest_schema_version()};
}

SchemaStatus PostgresStore::schema_status() {
    return run("schema status", [](pqxx::connection& c) { return pg::schema_status(c); });
}

AllocateResult PostgresStore::allocate(const AllocateRequest& request) {
    return run("allocate", [&](pqxx::connection& c) { return pg::allocate(c, request); });
}

std::optional<Sandbox> PostgresStore::get(const std::string& sandbox_id) {
    return run("get", [&](pqxx::connection& c) { return pg::find_sandbox(c, sandbox_id); });
}

MarkResult PostgresStore::mark_for_deletion(const MarkForDeletionRequest& request) {
    return run("mark-for-deletion", [&](pqxx::connection& c) { return pg::mark_for_deletion(c, request); });
}

ExtendResult PostgresStore::extend_lease(const ExtendLeaseRequest& request) {
    return run("extend-lease", [&](pqxx::connection& c) { return pg::extend_lease(c, request); });
}

UpsertSummary PostgresStore::upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                                       UnixSeconds now) {
    const UpsertSummary summary = run("upsert", [&](pqxx::connection& c) {
        return pg::upsert_provider_sandboxes(c, sandboxes, now, bulk_timeout_ms_);
    });
    pool_changes_.after_upsert(summary);
    return summary;
}

StatusCounts PostgresStore::count_by_status() {
    return run("count", [](pqxx::connection& c) { return pg::count_by_status(c); });
}

ListPage PostgresStore::list(const ListQuery& query) {
    return run("list", [&](pqxx::connection& c) { return pg::list_sandboxes(c, query); });
}

void PostgresStore::ping() {
    run("ping", [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec_prepared(pg::stmt::kPing);
    });
}

void PostgresStore::create_reservation(const Reservation& reservation) {
    run("create reservation", [&](pqxx::connection& c) { pg::create_reservation(c, reservation); });
}

std::vector<Reservation> PostgresStore::list_reservations() {
    return run("list reservations", [](pqxx::connection& c) { return pg::list_reservations(c); });
}

std::optional<Reservation> PostgresStore::get_reservation(const std::string& id) {
    return run("get reservation", [&](pqxx::connection& c) { return pg::get_reservation(c, id); });
}

bool PostgresStore::cancel_reservation(const std::string& id) {
    return run("cancel reservation", [&](pqxx::connection& c) { return pg::cancel_reservation(c, id); });
}

void PostgresStore::set_track_limit(const std::string& track, std::int64_t max_active) {
    run("set track limit", [&](pqxx::connection& c) { pg::set_track_limit(c, track, max_active); });
}

bool PostgresStore::remove_track_limit(const std::string& track) {
    return run("remove track limit", [&](pqxx::connection& c) { return pg::remove_track_limit(c, track); });
}

std::vector<TrackLimit> PostgresStore::list_track_limits(UnixSeconds now) {
    return run("list track limits", [&](pqxx::connection& c) { return pg::list_track_limits(c, now); });
}

std::int64_t PostgresStore::count_available(const std::string& name_prefix) {
    return run("count available", [&](pqxx::connection& c) { return pg::count_available(c, name_prefix); });
}

UpsertSummary PostgresStore::sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                                       UnixSeconds now) {
    const UpsertSummary summary = run("sync part", [&](pqxx::connection& c) {
        return pg::sync_part(c, part, pass, now, bulk_timeout_ms_);
    });
    pool_changes_.after_upsert(summary);
    return summary;
}

std::int64_t PostgresStore::finish_sync(std::int64_t pass, UnixSeconds now) {
    return run("sync finish", [&](pqxx::connection& c) {
        return pg::finish_sync(c, pass, now, now - kForgetSyncPassAfter, bulk_timeout_ms_);
    });
}

void PostgresStore::abandon_sync(std::int64_t pass) {
    // Only this pass: without a time, no other pass can be told to be over.
    run("sync abandon", [&](pqxx::connection& c) {
        pg::forget_sync(c, pass, std::numeric_limits<UnixSeconds>::min());
        return true;
    });
}

std::vector<Sandbox> PostgresStore::expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) {
    return run("expire", [&](pqxx::connection& c) { return pg::expire_allocations(c, now, lease, limit); });
}

std::vector<Sandbox> PostgresStore::claim_for_deletion(const DeletionClaim& claim) {
    return run("claim", [&](pqxx::connection& c) { return pg::claim_for_deletion(c, claim); });
}

bool PostgresStore::record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                                   DeletedHow how) {
    return run("record-deleted", [&](pqxx::connection& c) {
        return pg::record_deleted(c, sandbox_id, actor, now, deleted_reason(how));
    });
}

bool PostgresStore::record_deletion_failure(const DeletionFailure& failure) {
    return run("record-failure",
               [&](pqxx::connection& c) { return pg::record_deletion_failure(c, failure); });
}

std::int64_t PostgresStore::renew_deletion_claims(std::span<const std::string> sandbox_ids,
                                                  const std::string& worker_id, UnixSeconds,
                                                  UnixSeconds lease_until) {
    return run("renew-claims", [&](pqxx::connection& c) {
        return pg::renew_deletion_claims(c, sandbox_ids, worker_id, lease_until);
    });
}

std::int64_t PostgresStore::release_deletion_claims(std::span<const std::string> sandbox_ids,
                                                    const std::string& worker_id, UnixSeconds) {
    return run("release-claims",
               [&](pqxx::connection& c) { return pg::release_deletion_claims(c, sandbox_ids, worker_id); });
}

std::int64_t PostgresStore::remove_stale(UnixSeconds stale_before, UnixSeconds now,
                                         const std::string& actor) {
    return run("remove-stale",
               [&](pqxx::connection& c) { return pg::remove_stale(c, stale_before, now, actor); });
}

std::int64_t PostgresStore::bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) {
    return run("bulk-remove", [&](pqxx::connection& c) { return pg::bulk_remove(c, status, now, actor); });
}

std::vector<SandboxEvent> PostgresStore::history(const std::string& sandbox_id) {
    return run("history", [&](pqxx::connection& c) { return pg::history(c, sandbox_id); });
}

std::int64_t PostgresStore::prune_history(UnixSeconds before) {
    return run("prune-history", [&](pqxx::connection& c) { return pg::prune_history(c, before); });
}

std::int64_t PostgresStore::insert_copied(std::span<const CopiedSandbox> sandboxes) {
    return run("insert-copied",
               [&](pqxx::connection& c) { return pg::insert_copied(c, sandboxes, bulk_timeout_ms_); });
}

bool PostgresStore::try_start_job(const JobStartRequest& request) {
    return run("start-job", [&](pqxx::connection& c) { return pg::try_start_job(c, request); });
}

bool PostgresStore::renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds,
                                    UnixSeconds lease_until, const std::string& progress) {
    return run("renew-job", [&](pqxx::connection& c) {
        return pg::renew_job_lease(c, job, holder, lease_until, progress);
    });
}

bool PostgresStore::finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                               const std::string& result) {
    return run("finish-job",
               [&](pqxx::connection& c) { return pg::finish_job(c, job, holder, now, ok, result); });
}

void PostgresStore::set_job_paused(const std::string& job, bool paused, UnixSeconds) {
    run("pause-job", [&](pqxx::connection& c) { pg::set_job_paused(c, job, paused); });
}

std::int64_t PostgresStore::request_job_run(const std::string& job, UnixSeconds now) {
    return run("request-job", [&](pqxx::connection& c) { return pg::request_job_run(c, job, now); });
}

std::optional<JobRun> PostgresStore::job_run(const std::string& job, std::int64_t run_id) {
    return run("job-run", [&](pqxx::connection& c) { return pg::job_run(c, job, run_id); });
}

std::vector<JobState> PostgresStore::job_states() {
    return run("job-states", [](pqxx::connection& c) { return pg::job_states(c); });
}

ListPage PostgresStore::search(const SandboxSearch& query) {
    return run("search", [&](pqxx::connection& c) { return pg::search_sandboxes(c, query); });
}

AllocationWindowStats PostgresStore::allocation_window(const AllocationWindowQuery& query) {
    return run("allocation-window", [&](pqxx::connection& c) { return pg::allocation_window(c, query); });
}

std::int64_t PostgresStore::count_allocated_between(UnixSeconds from, UnixSeconds to) {
    return run("count-allocated",
               [&](pqxx::connection& c) { return pg::count_allocated_between(c, from, to); });
}

CleanupBacklog PostgresStore::cleanup_backlog(UnixSeconds now) {
    return run("cleanup-backlog", [&](pqxx::connection& c) { return pg::cleanup_backlog(c, now); });
}

std::vector<DeletionFailureInfo> PostgresStore::deletion_failures(int limit) {
    return run("deletion-failures", [&](pqxx::connection& c) { return pg::deletion_failures(c, limit); });
}

void PostgresStore::record_pool_sample(const PoolSample& sample) {
    run("record-sample", [&](pqxx::connection& c) { pg::record_pool_sample(c, sample); });
}

std::vector<PoolSample> PostgresStore::pool_samples(UnixSeconds from, UnixSeconds to, int limit) {
    return run("samples", [&](pqxx::connection& c) { return pg::pool_samples(c, from, to, limit); });
}

std::int64_t PostgresStore::prune_pool_samples(UnixSeconds before) {
    return run("prune-samples", [&](pqxx::connection& c) { return pg::prune_pool_samples(c, before); });
}

std::vector<OutboxEvent> PostgresStore::read_events(std::int64_t after_id, int limit) {
    return run("read events", [&](pqxx::connection& c) { return pg::read_events(c, after_id, limit); });
}

void PostgresStore::append_event(std::string_view type, std::string_view data_json, UnixSeconds now) {
    run("append event", [&](pqxx::connection& c) {
        pg::append_event(c, *this, type, data_json, now);
        return true;
    });
}

std::int64_t PostgresStore::last_event_id() {
    return run("last event id", [](pqxx::connection& c) { return pg::last_event_id(c); });
}

std::int64_t PostgresStore::prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) {
    return run("prune events",
               [&](pqxx::connection& c) { return pg::prune_events(c, delivered_up_to, older_than); });
}

bool PostgresStore::pool_low() {
    return run("pool low", [](pqxx::connection& c) { return pg::pool_low(c); });
}

bool PostgresStore::set_pool_low(bool low, std::string_view data_json, UnixSeconds now) {
    return run("set pool low",
               [&](pqxx::connection& c) { return pg::set_pool_low(c, *this, low, data_json, now); });
}

// WebhookStore.
void PostgresStore::create_webhook(const WebhookSubscription& subscription) {
    run("create webhook", [&](pqxx::connection& c) {
        pg::create_webhook(c, subscription);
        return true;
    });
}

std::vector<WebhookSubscription> PostgresStore::list_webhooks() {
    return run("list webhooks", [](pqxx::connection& c) { return pg::list_webhooks(c); });
}

std::optional<WebhookSubscription> PostgresStore::get_webhook(const std::string& id) {
    return run("get webhook", [&](pqxx::connection& c) { return pg::get_webhook(c, id); });
}

bool PostgresStore::delete_webhook(const std::string& id) {
    return run("delete webhook", [&](pqxx::connection& c) { return pg::delete_webhook(c, id); });
}

bool PostgresStore::disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) {
    return run("disable webhook",
               [&](pqxx::connection& c) { return pg::disable_webhook(c, *this, id, reason, now); });
}

bool PostgresStore::enable_webhook(const std::string& id) {
    return run("enable webhook", [&](pqxx::connection& c) { return pg::enable_webhook(c, id); });
}

bool PostgresStore::enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                                       std::int64_t to_cursor, std::span<const OutboxEvent> events,
                                       UnixSeconds now) {
    return run("enqueue deliveries", [&](pqxx::connection& c) {
        return pg::enqueue_deliveries(c, subscription_id, from_cursor, to_cursor, events, now);
    });
}

std::vector<WebhookDelivery> PostgresStore::claim_deliveries(const DeliveryClaim& claim) {
    return run("claim deliveries", [&](pqxx::connection& c) { return pg::claim_deliveries(c, claim); });
}

bool PostgresStore::record_attempt(const DeliveryAttempt& attempt) {
    return run("record attempt", [&](pqxx::connection& c) { return pg::record_attempt(c, attempt); });
}

std::vector<bool> PostgresStore::record_attempts(std::span<const DeliveryAttempt> attempts) {
    return run("record attempts", [&](pqxx::connection& c) { return pg::record_attempts(c, attempts); });
}

DeliveryPage PostgresStore::list_deliveries(const std::string& subscription_id,
                                            std::optional<std::int64_t> before, int limit) {
    return run("list deliveries",
               [&](pqxx::connection& c) { return pg::list_deliveries(c, subscription_id, before, limit); });
}

std::optional<WebhookDelivery> PostgresStore::get_delivery(const std::string& subscription_id,
                                                           std::int64_t delivery_id) {
    return run("get delivery",
               [&](pqxx::connection& c) { return pg::get_delivery(c, subscription_id, delivery_id); });
}

std::optional<WebhookDelivery> PostgresStore::redeliver(const std::string& subscription_id,
                                                        std::int64_t delivery_id, UnixSeconds now) {
    return run("redeliver",
               [&](pqxx::connection& c) { return pg::redeliver(c, subscription_id, delivery_id, now); });
}

std::int64_t PostgresStore::count_pending(const std::string& subscription_id) {
    return run("count pending", [&](pqxx::connection& c) { return pg::count_pending(c, subscription_id); });
}

std::int64_t PostgresStore::prune_deliveries(UnixSeconds before) {
    return run("prune deliveries", [&](pqxx::connection& c) { return pg::prune_deliveries(c, before); });
}

}  // namespace broker
