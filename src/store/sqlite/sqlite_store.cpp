// SqliteStore: wires the write connection's group-commit thread, the reader pool and the
// SQL of sandbox_ops together.
#include "store/sqlite/sqlite_store.hpp"

#include <filesystem>

#include "core/errors.hpp"
#include "store/sqlite/group_commit.hpp"
#include "store/sqlite/reader_pool.hpp"
#include "store/sqlite/sandbox_ops.hpp"
#include "store/sqlite/schema.hpp"

namespace broker {

using sqlite::Connection;

namespace {

std::unique_ptr<Connection> open_writer(const SqliteOptions& options) {
    const std::filesystem::path file(options.path);
    if (file.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        if (ec) {
            throw StoreUnavailable("cannot create directory " + file.parent_path().string() + ": " +
                                   ec.message());
        }
    }
    auto conn =
        std::make_unique<Connection>(options.path, Connection::Mode::read_write, options.busy_timeout_ms);
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
    explicit Impl(const SqliteOptions& options)
        : writer(open_writer(options), options.max_batch, options.max_queue),
          readers(options.path, options.read_connections, options.busy_timeout_ms) {}

    // Runs `fn` on the write connection in the next batch and returns its result once the
    // batch has committed.
    template <class Fn>
    auto write(Fn&& fn) {
        std::optional<decltype(fn(std::declval<Connection&>()))> result;
        writer.run([&](Connection& conn) { result = fn(conn); });
        return std::move(*result);
    }

    sqlite::GroupCommitWriter writer;
    sqlite::ReaderPool readers;
};

SqliteStore::SqliteStore(SqliteOptions options) : impl_(std::make_unique<Impl>(options)) {}

SqliteStore::~SqliteStore() = default;

void SqliteStore::migrate() {
    impl_->writer.run([](Connection& conn) { sqlite::apply_migrations(conn); });
}

AllocateResult SqliteStore::allocate(const AllocateRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::allocate(conn, request); });
}

std::optional<Sandbox> SqliteStore::get(const std::string& sandbox_id) {
    auto conn = impl_->readers.acquire();
    return sqlite::find_sandbox(*conn, sandbox_id);
}

MarkResult SqliteStore::mark_for_deletion(const MarkForDeletionRequest& request) {
    return impl_->write([&](Connection& conn) { return sqlite::mark_for_deletion(conn, request); });
}

UpsertSummary SqliteStore::upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                                     UnixSeconds now) {
    return impl_->write(
        [&](Connection& conn) { return sqlite::upsert_provider_sandboxes(conn, sandboxes, now); });
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
    conn->query("SELECT 1 FROM sandboxes LIMIT 1").run();
}

SqliteWriteStats SqliteStore::write_stats() const {
    return impl_->writer.stats();
}

}  // namespace broker
