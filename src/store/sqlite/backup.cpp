// Backup and restore of the embedded store: see backup.hpp.
#include "store/sqlite/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/errors.hpp"
#include "sql/sqlite_queries.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/store_file.hpp"

namespace broker::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 10'000;

StoreFileSummary summarise(Connection& conn) {
    StoreFileSummary summary;
    {
        auto q = conn.query("PRAGMA user_version");
        if (q.step()) summary.schema_version = static_cast<int>(q.integer(0));
    }
    {
        auto q = conn.query(sql::kFileSandboxes);
        if (q.step()) {
            summary.sandboxes = q.integer(0);
            summary.allocated = q.integer(1);
        }
    }
    {
        auto q = conn.query(sql::kFileHistoryEvents);
        if (q.step()) summary.history_events = q.integer(0);
    }
    return summary;
}

// Copies every page of `from` into `to` in one step: one read transaction on the source, so
// the copy is a snapshot even while another process commits to it (WAL readers see the
// last commit before they started and never block the writer).
void copy_pages(Connection& from, Connection& to, const std::string& what) {
    sqlite3_backup* backup = sqlite3_backup_init(to.handle(), "main", from.handle(), "main");
    if (!backup) {
        to.check(sqlite3_errcode(to.handle()), what);
        throw StoreUnavailable("SQLite could not start the " + what);
    }
    const int step = sqlite3_backup_step(backup, -1);
    const int finish = sqlite3_backup_finish(backup);
    if (step != SQLITE_DONE) to.check(step == SQLITE_OK ? SQLITE_ERROR : step, what);
    to.check(finish, what);
}

}  // namespace

StoreFileSummary inspect_store_file(const std::string& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        throw ConfigError(file + " is not a file (a sandbox-broker store backup was expected)");
    }
    try {
        Connection conn(file, Connection::Mode::read_only, kBusyTimeoutMs);
        {
            auto q = conn.query("PRAGMA quick_check");
            if (!q.step() || q.text(0) != "ok") {
                throw ConfigError(file + " is damaged: SQLite's quick_check says " + q.text(0));
            }
        }
        int version = 0;
        {
            auto q = conn.query("PRAGMA user_version");
            if (q.step()) version = static_cast<int>(q.integer(0));
        }
        bool has_tables = false;
        {
            auto q = conn.query(sql::kFileHasTables);
            has_tables = q.step() && q.integer(0) == 2;
        }
        if (version < 1 || !has_tables) {
            throw ConfigError(file +
                              " is an SQLite database but not a sandbox-broker store (no schema version "
                              "or no sandboxes table)");
        }
        if (version > latest_schema_version()) {
            throw ConfigError(file + " has schema version " + std::to_string(version) +
                              ", newer than this binary understands (" +
                              std::to_string(latest_schema_version()) + ")");
        }
        return summarise(conn);
    } catch (const StoreUnavailable& e) {
        throw ConfigError(file + " is not a sandbox-broker store: " + e.what());
    }
}

StoreFileSummary backup_store(const std::string& store_path, const std::string& target) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(store_path, ec)) {
        throw ConfigError("there is no SQLite store at " + store_path);
    }
    // O_EXCL: never overwrite a file (an earlier backup, or the store itself).
    const int fd = ::open(target.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) throw ConfigError(target + " exists already: a backup never overwrites a file");
        throw ConfigError("cannot create " + target + ": " + std::strerror(errno));
    }
    ::close(fd);
    try {
        StoreFileSummary summary;
        {
            Connection source(store_path, Connection::Mode::read_only, kBusyTimeoutMs);
            Connection copy(target, Connection::Mode::read_write, kBusyTimeoutMs);
            copy_pages(source, copy, "backup to " + target);
            // A single self-contained file: no -wal beside it to forget when it is moved.
            copy.exec("PRAGMA journal_mode = DELETE");
            summary = summarise(copy);
        }
        // The copy is a broker store, readable on its own.
        inspect_store_file(target);
        return summary;
    } catch (...) {
        std::filesystem::remove(target, ec);
        throw;
    }
}

StoreFileSummary restore_store(const std::string& from, const std::string& store_path, bool create_dir) {
    inspect_store_file(from);
    prepare_database_file(store_path, create_dir);
    // Held until the copy is complete, so no broker starts on a half-restored file.
    StoreLock lock(store_path);
    Connection source(from, Connection::Mode::read_only, kBusyTimeoutMs);
    Connection store(store_path, Connection::Mode::read_write, kBusyTimeoutMs);
    // The store keeps WAL mode (the backup API writes the pages through it) and durable commits.
    {
        auto q = store.query("PRAGMA journal_mode = WAL");
        q.step();
    }
    store.exec("PRAGMA synchronous = FULL");
    copy_pages(source, store, "restore into " + store_path);
    return summarise(store);
}

}  // namespace broker::sqlite
