// SqliteStore: wires the write connection's group-commit thread, the reader pool and the
// SQL of sandbox_ops together.
#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <filesystem>

#include "core/errors.hpp"
#include "sql/sqlite_queries.hpp"
#include "store/sqlite/copy_ops.hpp"
#include "store/sqlite/dashboard_ops.hpp"
#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/lifecycle_ops.hpp"
#include "store/sqlite/outbox_ops.hpp"
#include "store/sqlite/quota_ops.hpp"
#include "store/sqlite/reader_pool.hpp"
#include "store/sqlite/sandbox_ops.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/store_file.hpp"
#include "store/sqlite/webhook_ops.hpp"

namespace broker {

using sqlite::Connection;

namespace {

std::unique_ptr<Connection> open_writer(const SqliteOptions& options, const OutboxControl& outbox) {
    auto conn =
        std::make_unique<Connection>(options.path, Connection::Mode::read_write, options.busy_timeout_ms);
    conn->set_outbox(&outbox);
    {
        auto q = conn->query("PRAGMA journal_mode = WAL");
        if (!q.step() || q.text(0) != "wal") {
            throw StoreUnavailable("SQLite " + options.path + " cannot use WAL journal mode");
        }
    }
    // FULL: the WAL is synced at every commit, so a committed allocation survives power loss.
    conn->exec("PRAGMA synchronous = FULL");
    conn->exec("PRAGMA foreign_keys = ON");
    // 64 MiB of page cache: a 200k-row sync stays in memory until its commit instead of
    // spilling pages to the WAL halfway through.
    conn->exec("PRAGMA cache_size = -65536");
    return conn;
}

}  // namespace

struct SqliteStore::Impl {
    Impl(const SqliteOptions& options, const OutboxControl& outbox)
        : lock(locked_file(options)),
          writer(open_writer(options, outbox), options.max_batch, options.max_queue),
          readers(options.path, options.read_connections, options.busy_timeout_ms),
          chunk(options.bulk_chunk_rows) {}

    // The file ready to open, and locked before any connection touches it.
    static std::unique_ptr<sqlite::StoreLock> locked_file(const SqliteOptions& options) {
        sqlite::prepare_database_file(options.path, options.create_dir);
        return std::make_unique<sqlite::StoreLock>(options.path);
    }

    // Runs `fn` on the write connection in the next batch and returns its result once the
    // batch has committed.
    template <class Fn>
    auto write(Fn&& fn) {
        std::optional<decltype(fn(std::declval<Connection&>()))> result;
        writer.run([&](Connection& conn) { result = fn(conn); });
        return std::move(*result);
    }

    // Runs `fn` on the write connection in the next batch and hands its result to `done` on
    // the writer thread once the batch has committed. `fn` may run twice (see run_batch):
    // the later result overwrites the earlier.
    template <class Result, class Fn, class Done>
    void submit(Fn fn, Done done) {
        struct State {
            Fn fn;
            Done done;
            Result result{};
        };
        auto state = std::make_shared<State>(State{std::move(fn), std::move(done)});
        writer.submit([state](Connection& conn) { state->result = state->fn(conn); },
                      [state](std::exception_ptr error) {
                          state->done(error, error ? Result{} : std::move(state->result));
                      });
    }

    std::unique_ptr<sqlite::StoreLock> lock;  // first in, last out: held while any connection is open

    // The same for one chunk of a large write: a transaction of its own, between batches.
    template <class Fn>
    auto bulk_write(Fn&& fn) {
        std::optional<decltype(fn(std::declval<Connection&>()))> result;
        writer.run([&](Connection& conn) { result = fn(conn); }, sqlite::GroupCommitWriter::Kind::bulk);
        return std::move(*result);
    }

    // Runs `chunk_fn(conn, limit)` (which removes at most `limit` rows and says how many) as
    // bulk writes until a chunk comes back short. Without chunking, once with no limit.
    template <class Fn>
    std::int64_t in_chunks(Fn&& chunk_fn) {
        if (chunk == 0) return bulk_write([&](Connection& conn) { return chunk_fn(conn, 0); });
        const int limit = static_cast<int>(chunk);
        std::int64_t total = 0;
        for (;;) {
            const std::int64_t n = bulk_write([&](Connection& conn) { return chunk_fn(conn, limit); });
            total += n;
            if (n < limit) return total;
        }
    }

    // A list written `chunk` items per transaction (all at once when 0): `write(conn, part)`
    // for each part, their summaries (or counts) added up.
    template <class T, class Fn>
    auto write_in_chunks(std::span<const T> all, Fn write) {
        decltype(write(std::declval<Connection&>(), all)) total{};
        const std::size_t step = chunk == 0 ? std::max<std::size_t>(all.size(), 1) : chunk;
        for (std::size_t at = 0; at < all.size(); at += step) {
            const auto part = all.subspan(at, std::min(step, all.size() - at));
            total += bulk_write([&](Connection& conn) { return write(conn, part); });
        }
        return total;
    }

    UpsertSummary upsert(std::span<const ProviderSandbox> sandboxes, UnixSeconds now) {
        return write_in_chunks(sandboxes, [&](Connection& conn, std::span<const ProviderSandbox> part) {
            return sqlite::upsert_provider_sandboxes(conn, part, now);
        });
    }

    // A change to reservations or limits, in the writer; the allocations after it read them again.
    template <class Fn>
    auto change_quota(Fn&& fn) {
        return write([&](Connection& conn) {
            quota.snapshot.reset();
            return fn(conn);
        });
    }

    sqlite::GroupCommitWriter writer;
    sqlite::QuotaCache quota;  // the writer thread's
    sqlite::ReaderPool readers;
    const std::size_t chunk;
};

SqliteStore::SqliteStore(SqliteOptions options) : impl_(std::make_unique<Impl>(options, *this)) {}

SqliteStore::~SqliteStore() = default;

MigrationReport SqliteStore::migrate() {
    MigrationReport report;
    impl_->writer.run([&](Connection& conn) { report.from_version = sqlite::apply_migrations(conn); });
    report.to_version = sqlite::latest_schema_version();
    return report;
}

SchemaStatus SqliteStore::schema_status() {
    auto conn = impl_->readers.acquire();
    return sqlite::schema_status(*conn);
}

AllocateResult SqliteStore::allocate(const AllocateRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::allocate(conn, request, impl_->quota); });
}

void SqliteStore::allocate_async(const AllocateRequest& request, AllocateDone done) {
    impl_->submit<AllocateResult>([request, quota = &impl_->quota](
                                      Connection& conn) { return sqlite::allocate(conn, request, *quota); },
                                  std::move(done));
}

void SqliteStore::mark_for_deletion_async(const MarkForDeletionRequest& request, MarkDone done) {
    impl_->submit<MarkResult>(
        [request](Connection& conn) { return sqlite::mark_for_deletion(conn, request); }, std::move(done));
}

std::optional<Sandbox> SqliteStore::get(const std::string& sandbox_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::find_sandbox(*conn, sandbox_id);
}

MarkResult SqliteStore::mark_for_deletion(const MarkForDeletionRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::mark_for_deletion(conn, request); });
}

ExtendResult SqliteStore::extend_lease(const ExtendLeaseRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::extend_lease(conn, request); });
}

UpsertSummary SqliteStore::upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                                     UnixSeconds now) {
    const UpsertSummary summary = impl_->upsert(sandboxes, now);
    pool_changes_.after_upsert(summary);
    return summary;
}

StatusCounts SqliteStore::count_by_status() {
    auto conn = impl_->readers.acquire();
    return sqlite::count_by_status(*conn);
}

ListPage SqliteStore::list(const ListQuery& query) {
    auto conn = impl_->readers.acquire();
    return sqlite::list_sandboxes(*conn, query);
}

void SqliteStore::ping() {
    auto conn = impl_->readers.acquire();
    // Touches the sandboxes table: a file that opens but was never migrated is not ready.
    conn->query(sqlite::sql::kPing).run();
}

void SqliteStore::create_reservation(const Reservation& reservation) {
    impl_->change_quota([&](Connection& conn) {
        sqlite::create_reservation(conn, reservation);
        return true;
    });
}

std::vector<Reservation> SqliteStore::list_reservations() {
    auto conn = impl_->readers.acquire();
    return sqlite::list_reservations(*conn);
}

std::optional<Reservation> SqliteStore::get_reservation(const std::string& id) {
    auto conn = impl_->readers.acquire();
    return sqlite::get_reservation(*conn, id);
}

bool SqliteStore::cancel_reservation(const std::string& id) {
    return impl_->change_quota([&](Connection& conn) { return sqlite::cancel_reservation(conn, id); });
}

void SqliteStore::set_track_limit(const std::string& track, std::int64_t max_active) {
    impl_->change_quota([&](Connection& conn) {
        sqlite::set_track_limit(conn, track, max_active);
        return true;
    });
}

bool SqliteStore::remove_track_limit(const std::string& track) {
    return impl_->change_quota([&](Connection& conn) { return sqlite::remove_track_limit(conn, track); });
}

std::vector<TrackLimit> SqliteStore::list_track_limits(UnixSeconds now) {
    auto conn = impl_->readers.acquire();
    return sqlite::list_track_limits(*conn, now);
}

std::int64_t SqliteStore::count_available(const std::string& name_prefix) {
    auto conn = impl_->readers.acquire();
    return sqlite::count_available(*conn, name_prefix);
}

UpsertSummary SqliteStore::sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                                     UnixSeconds now) {
    const UpsertSummary total =
        impl_->write_in_chunks(part, [&](Connection& conn, std::span<const ProviderSandbox> piece) {
            return sqlite::sync_part(conn, piece, pass, now);
        });
    pool_changes_.after_upsert(total);
    return total;
}

std::int64_t SqliteStore::finish_sync(std::int64_t pass, UnixSeconds now) {
    // The unlisted ones are found on a reader: walking every available row on the writer would
    // keep allocations waiting behind it however small the chunks it then marks. A page at a
    // time (a chunk's worth, each page marked before the next is read), so neither the ids nor
    // one read snapshot grow with the pool: a provider that lists nothing makes every
    // available sandbox unlisted.
    std::int64_t marked = 0;
    sqlite::NameCursor after;
    for (;;) {
        std::vector<sqlite::NameCursor> page;
        {
            auto conn = impl_->readers.acquire();
            page = sqlite::unstamped_available(*conn, pass, after, impl_->chunk);
        }
        if (page.empty()) return marked;
        after = page.back();
        std::vector<std::string> ids;
        ids.reserve(page.size());
        for (auto& row : page) ids.push_back(std::move(row.sandbox_id));
        marked += impl_->write_in_chunks(std::span<const std::string>(ids),
                                         [&](Connection& conn, std::span<const std::string> part) {
                                             return sqlite::mark_unstamped_stale(conn, part, pass, now);
                                         });
        if (impl_->chunk == 0 || page.size() < impl_->chunk) return marked;
    }
}

// The stamps stay behind: the next pass overwrites them and no one else reads them.
void SqliteStore::abandon_sync(std::int64_t) {}

std::vector<Sandbox> SqliteStore::expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) {
    return impl_->write(
        [&](Connection& conn) { return sqlite::expire_allocations(conn, now, lease, limit); });
}

std::vector<Sandbox> SqliteStore::claim_for_deletion(const DeletionClaim& claim) {
    return impl_->write([&](Connection& conn) { return sqlite::claim_for_deletion(conn, claim); });
}

bool SqliteStore::record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                                 DeletedHow how) {
    return impl_->write([&](Connection& conn) {
        return sqlite::record_deleted(conn, sandbox_id, actor, now, deleted_reason(how));
    });
}

bool SqliteStore::record_deletion_failure(const DeletionFailure& failure) {
    return impl_->write([&](Connection& conn) { return sqlite::record_deletion_failure(conn, failure); });
}

std::int64_t SqliteStore::renew_deletion_claims(std::span<const std::string> sandbox_ids,
                                                const std::string& worker_id, UnixSeconds,
                                                UnixSeconds lease_until) {
    return impl_->write([&](Connection& conn) {
        return sqlite::renew_deletion_claims(conn, sandbox_ids, worker_id, lease_until);
    });
}

std::int64_t SqliteStore::release_deletion_claims(std::span<const std::string> sandbox_ids,
                                                  const std::string& worker_id, UnixSeconds) {
    return impl_->write(
        [&](Connection& conn) { return sqlite::release_deletion_claims(conn, sandbox_ids, worker_id); });
}

std::int64_t SqliteStore::remove_stale(UnixSeconds stale_before, UnixSeconds now, const std::string& actor) {
    return impl_->in_chunks([&](Connection& conn, int limit) {
        return sqlite::remove_stale(conn, stale_before, now, actor, limit);
    });
}

std::int64_t SqliteStore::bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) {
    return impl_->in_chunks(
        [&](Connection& conn, int limit) { return sqlite::bulk_remove(conn, status, now, actor, limit); });
}

std::vector<SandboxEvent> SqliteStore::history(const std::string& sandbox_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::history(*conn, sandbox_id);
}

std::int64_t SqliteStore::prune_history(UnixSeconds before) {
    return impl_->in_chunks(
        [&](Connection& conn, int limit) { return sqlite::prune_history(conn, before, limit); });
}

std::int64_t SqliteStore::insert_copied(std::span<const CopiedSandbox> sandboxes) {
    return impl_->write_in_chunks(sandboxes, [](Connection& conn, std::span<const CopiedSandbox> part) {
        return sqlite::insert_copied(conn, part);
    });
}

bool SqliteStore::try_start_job(const JobStartRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::try_start_job(conn, request); });
}

bool SqliteStore::renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds now,
                                  UnixSeconds lease_until, const std::string& progress) {
    return impl_->write([&](Connection& conn) {
        return sqlite::renew_job_lease(conn, job, holder, now, lease_until, progress);
    });
}

bool SqliteStore::finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                             const std::string& result) {
    return impl_->write(
        [&](Connection& conn) { return sqlite::finish_job(conn, job, holder, now, ok, result); });
}

void SqliteStore::set_job_paused(const std::string& job, bool paused, UnixSeconds now) {
    impl_->writer.run([&](Connection& conn) { sqlite::set_job_paused(conn, job, paused, now); });
}

std::int64_t SqliteStore::request_job_run(const std::string& job, UnixSeconds now) {
    return impl_->write([&](Connection& conn) { return sqlite::request_job_run(conn, job, now); });
}

std::optional<JobRun> SqliteStore::job_run(const std::string& job, std::int64_t run_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::job_run(*conn, job, run_id);
}

std::vector<JobState> SqliteStore::job_states() {
    auto conn = impl_->readers.acquire();
    return sqlite::job_states(*conn);
}

SqliteWriteStats SqliteStore::write_stats() const {
    return impl_->writer.stats();
}

ListPage SqliteStore::search(const SandboxSearch& query) {
    auto conn = impl_->readers.acquire();
    return sqlite::search_sandboxes(*conn, query);
}

AllocationWindowStats SqliteStore::allocation_window(const AllocationWindowQuery& query) {
    auto conn = impl_->readers.acquire();
    return sqlite::allocation_window(*conn, query);
}

std::int64_t SqliteStore::count_allocated_between(UnixSeconds from, UnixSeconds to) {
    auto conn = impl_->readers.acquire();
    return sqlite::count_allocated_between(*conn, from, to);
}

CleanupBacklog SqliteStore::cleanup_backlog(UnixSeconds now) {
    auto conn = impl_->readers.acquire();
    return sqlite::cleanup_backlog(*conn, now);
}

std::vector<DeletionFailureInfo> SqliteStore::deletion_failures(int limit) {
    auto conn = impl_->readers.acquire();
    return sqlite::deletion_failures(*conn, limit);
}

void SqliteStore::record_pool_sample(const PoolSample& sample) {
    impl_->write([&](Connection& conn) {
        sqlite::record_pool_sample(conn, sample);
        return true;
    });
}

std::vector<PoolSample> SqliteStore::pool_samples(UnixSeconds from, UnixSeconds to, int limit) {
    auto conn = impl_->readers.acquire();
    return sqlite::pool_samples(*conn, from, to, limit);
}

std::int64_t SqliteStore::prune_pool_samples(UnixSeconds before) {
    return impl_->bulk_write([&](Connection& conn) { return sqlite::prune_pool_samples(conn, before); });
}

std::vector<OutboxEvent> SqliteStore::read_events(std::int64_t after_id, int limit) {
    auto conn = impl_->readers.acquire();
    return sqlite::read_events(*conn, after_id, limit);
}

void SqliteStore::append_event(std::string_view type, std::string_view data_json, UnixSeconds now) {
    impl_->write([&](Connection& conn) {
        sqlite::append_event(conn, type, data_json, now);
        return true;
    });
}

std::int64_t SqliteStore::last_event_id() {
    auto conn = impl_->readers.acquire();
    return sqlite::last_event_id(*conn);
}

std::int64_t SqliteStore::prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) {
    return impl_->bulk_write(
        [&](Connection& conn) { return sqlite::prune_events(conn, delivered_up_to, older_than); });
}

bool SqliteStore::pool_low() {
    auto conn = impl_->readers.acquire();
    return sqlite::pool_low(*conn);
}

bool SqliteStore::set_pool_low(bool low, std::string_view data_json, UnixSeconds now) {
    return impl_->write([&](Connection& conn) { return sqlite::set_pool_low(conn, low, data_json, now); });
}

// WebhookStore.
void SqliteStore::create_webhook(const WebhookSubscription& subscription) {
    impl_->write([&](Connection& conn) {
        sqlite::create_webhook(conn, subscription);
        return true;
    });
}

std::vector<WebhookSubscription> SqliteStore::list_webhooks() {
    auto conn = impl_->readers.acquire();
    return sqlite::list_webhooks(*conn);
}

std::optional<WebhookSubscription> SqliteStore::get_webhook(const std::string& id) {
    auto conn = impl_->readers.acquire();
    return sqlite::get_webhook(*conn, id);
}

bool SqliteStore::delete_webhook(const std::string& id) {
    return impl_->write([&](Connection& conn) { return sqlite::delete_webhook(conn, id); });
}

bool SqliteStore::disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) {
    return impl_->write([&](Connection& conn) { return sqlite::disable_webhook(conn, id, reason, now); });
}

bool SqliteStore::enable_webhook(const std::string& id) {
    return impl_->write([&](Connection& conn) { return sqlite::enable_webhook(conn, id); });
}

bool SqliteStore::enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                                     std::int64_t to_cursor, std::span<const OutboxEvent> events,
                                     UnixSeconds now) {
    return impl_->write([&](Connection& conn) {
        return sqlite::enqueue_deliveries(conn, subscription_id, from_cursor, to_cursor, events, now);
    });
}

std::vector<WebhookDelivery> SqliteStore::claim_deliveries(const DeliveryClaim& claim) {
    return impl_->write([&](Connection& conn) { return sqlite::claim_deliveries(conn, claim); });
}

bool SqliteStore::record_attempt(const DeliveryAttempt& attempt) {
    return impl_->write([&](Connection& conn) { return sqlite::record_attempt(conn, attempt); });
}

std::vector<bool> SqliteStore::record_attempts(std::span<const DeliveryAttempt> attempts) {
    return impl_->write([&](Connection& conn) {
        std::vector<bool> out;
        out.reserve(attempts.size());
        for (const auto& attempt : attempts) out.push_back(sqlite::record_attempt(conn, attempt));
        return out;
    });
}

DeliveryPage SqliteStore::list_deliveries(const std::string& subscription_id,
                                          std::optional<std::int64_t> before, int limit) {
    auto conn = impl_->readers.acquire();
    return sqlite::list_deliveries(*conn, subscription_id, before, limit);
}

std::optional<WebhookDelivery> SqliteStore::get_delivery(const std::string& subscription_id,
                                                         std::int64_t delivery_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::get_delivery(*conn, subscription_id, delivery_id);
}

std::optional<WebhookDelivery> SqliteStore::redeliver(const std::string& subscription_id,
                                                      std::int64_t delivery_id, UnixSeconds now) {
    return impl_->write(
        [&](Connection& conn) { return sqlite::redeliver(conn, subscription_id, delivery_id, now); });
}

std::int64_t SqliteStore::count_pending(const std::string& subscription_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::count_pending(*conn, subscription_id);
}

std::int64_t SqliteStore::prune_deliveries(UnixSeconds before) {
    return impl_->write([&](Connection& conn) { return sqlite::prune_deliveries(conn, before); });
}

}  // namespace broker
