// Backup and restore of the embedded store (store/sqlite/backup): a backup taken while the
// store is being written is a consistent, owner-only, self-contained broker store; a restore
// refuses files that are not broker stores and stores another process holds, and gives back
// the same allocations.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/errors.hpp"
#include "store/sqlite/backup.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

constexpr UnixSeconds kNow = 1'700'000'000;

std::vector<ProviderSandbox> pool(int count) {
    std::vector<ProviderSandbox> list;
    for (int i = 0; i < count; ++i) {
        const std::string n = std::to_string(300000 + i);
        list.push_back({n, "bk-" + n, "identity/accounts/" + n, ""});
    }
    return list;
}

AllocateRequest request(const std::string& participant) {
    AllocateRequest r;
    r.participant_id = participant;
    r.idempotency_key = participant;
    r.now = kNow;
    return r;
}

class SqliteBackupTest : public ::testing::Test {
  protected:
    void SetUp() override {
        store_ = std::make_unique<SqliteStore>(SqliteOptions{.path = path_});
        store_->migrate();
        store_->upsert_provider_sandboxes(pool(400), kNow);
    }

    TempDir dir_;
    std::string path_ = dir_.file("broker.db");
    std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteBackupTest, BackupWhileAllocatingIsAConsistentSnapshot) {
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(store_->allocate(request("before-" + std::to_string(i))).outcome,
                  AllocateOutcome::allocated);
    // Allocations keep committing on the store's writer while the copy is taken.
    std::atomic<bool> stop{false};
    std::atomic<int> during{0};
    std::jthread writer([&] {
        for (int i = 0; i < 300 && !stop; ++i) {
            if (store_->allocate(request("during-" + std::to_string(i))).outcome ==
                AllocateOutcome::allocated)
                ++during;
        }
    });
    const std::string copy = dir_.file("copy.db");
    const auto summary = sqlite::backup_store(path_, copy);
    stop = true;
    writer.join();

    EXPECT_EQ(summary.sandboxes, 400);
    EXPECT_GE(summary.allocated, 10);
    EXPECT_LE(summary.allocated, 10 + during.load());
    EXPECT_EQ(summary.schema_version, sqlite::latest_schema_version());
    // Self-contained: no WAL beside it; owner-only.
    EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
    struct stat info {};
    ASSERT_EQ(::stat(copy.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    // What the summary says is what the file holds, and every allocation in it is whole: each
    // allocated row has its history event (they were committed in one transaction).
    sqlite::Connection conn(copy, sqlite::Connection::Mode::read_only, 1000);
    auto q = conn.query(
        "SELECT count(*), (SELECT count(*) FROM sandbox_events WHERE to_status = 'allocated') FROM sandboxes "
        "WHERE status = 'allocated'");
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.integer(0), summary.allocated);
    EXPECT_EQ(q.integer(1), summary.allocated);
}

TEST_F(SqliteBackupTest, BackupNeverOverwritesAFile) {
    const std::string target = dir_.file("exists.db");
    std::ofstream(target) << "keep me";
    EXPECT_THROW(sqlite::backup_store(path_, target), ConfigError);
    std::ifstream in(target);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
    EXPECT_THROW(sqlite::backup_store(dir_.file("no-such.db"), dir_.file("x.db")), ConfigError);
    EXPECT_FALSE(std::filesystem::exists(dir_.file("x.db")));
}

TEST_F(SqliteBackupTest, RestoreRefusesAStoreInUse) {
    const std::string copy = dir_.file("copy.db");
    sqlite::backup_store(path_, copy);
    try {
        sqlite::restore_store(copy, path_, false);
        FAIL() << "restored over a store in use";
    } catch (const StoreUnavailable& e) {
        EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    }
}

TEST_F(SqliteBackupTest, RestoreGivesBackTheSameAllocations) {
    const auto first = store_->allocate(request("alice"));
    ASSERT_EQ(first.outcome, AllocateOutcome::allocated);
    const std::string copy = dir_.file("copy.db");
    sqlite::backup_store(path_, copy);
    // Changes after the backup are undone by the restore.
    ASSERT_EQ(store_->allocate(request("bob")).outcome, AllocateOutcome::allocated);
    store_.reset();

    const auto summary = sqlite::restore_store(copy, path_, false);
    EXPECT_EQ(summary.sandboxes, 400);
    EXPECT_EQ(summary.allocated, 1);

    SqliteStore reopened({.path = path_});
    reopened.migrate();
    const auto again = reopened.allocate(request("alice"));
    EXPECT_EQ(again.outcome, AllocateOutcome::existing);
    EXPECT_EQ(again.sandbox->sandbox_id, first.sandbox->sandbox_id);
    EXPECT_EQ(reopened.count_by_status()[SandboxStatus::allocated], 1);
}

TEST_F(SqliteBackupTest, RestoreIntoANewFileInANewDirectoryWhenAsked) {
    const std::string copy = dir_.file("copy.db");
    sqlite::backup_store(path_, copy);
    const std::string elsewhere = dir_.file("new/broker.db");
    EXPECT_THROW(sqlite::restore_store(copy, elsewhere, false), ConfigError);
    const auto summary = sqlite::restore_store(copy, elsewhere, true);
    EXPECT_EQ(summary.sandboxes, 400);
    struct stat info {};
    ASSERT_EQ(::stat(elsewhere.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(SqliteBackupTest, OnlyBrokerStoresAreRestored) {
    const std::string text = dir_.file("notes.txt");
    std::ofstream(text) << "not a database at all, just some words that are long enough\n";
    EXPECT_THROW(sqlite::inspect_store_file(text), ConfigError);

    const std::string other_db = dir_.file("other.db");
    {
        sqlite::Connection conn(other_db, sqlite::Connection::Mode::read_write, 1000);
        conn.exec("CREATE TABLE t (x INTEGER)");
    }
    EXPECT_THROW(sqlite::inspect_store_file(other_db), ConfigError);
    EXPECT_THROW(sqlite::inspect_store_file(dir_.file("missing.db")), ConfigError);
    store_.reset();
    EXPECT_THROW(sqlite::restore_store(other_db, path_, false), ConfigError);
    // The store was left alone.
    SqliteStore reopened({.path = path_});
    EXPECT_EQ(reopened.count_by_status().total(), 400);
}

}  // namespace
}  // namespace broker::testing
