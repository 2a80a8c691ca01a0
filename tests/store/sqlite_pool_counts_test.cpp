// The SQLite store's maintained counts (schema step 9, sql/schema/steps.sql) where only SQLite
// can be looked at: the schema step fills them from a count of a store that predates it, and
// the triggers keep them true for a writer that is not this binary (an older one, a statement
// by hand).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

using sqlite::Connection;

constexpr UnixSeconds kNow = 1'700'000'000;

class SqlitePoolCountsTest : public ::testing::Test {
  protected:
    void SetUp() override { open(); }

    void open() {
        store_.reset();
        store_ = std::make_unique<SqliteStore>(SqliteOptions{.path = path_});
        store_->migrate();
    }

    std::unique_ptr<Connection> raw() {
        return std::make_unique<Connection>(path_, Connection::Mode::read_write, 10'000);
    }

    void seed(int n) {
        std::vector<ProviderSandbox> list;
        for (int i = 0; i < n; ++i)
            list.push_back({std::to_string(100 + i), "lab", "identity/accounts/x", ""});
        store_->upsert_provider_sandboxes(list, kNow);
    }

    TempDir dir_;
    std::string path_ = dir_.file("broker.db");
    std::unique_ptr<SqliteStore> store_;
};

// The schema version before the counts' step (step 9 takes a store from 8 to 9).
constexpr int kVersionBeforeCounts = 8;

TEST_F(SqlitePoolCountsTest, TheStepCountsAStoreThatPredatesIt) {
    seed(5);
    raw()->exec("UPDATE sandboxes SET status = 'stale' WHERE sandbox_id IN ('100', '101')");
    // The store as the release before the step left it: no counts, no triggers.
    store_.reset();
    // The steps after it (the outbox, webhooks, the sync pass) create only tables, dropped with
    // their indexes, and a column, dropped.
    raw()->exec(
        "DROP TABLE webhook_deliveries; DROP TABLE webhook_subscriptions; DROP TABLE pool_alert; "
        "DROP TABLE outbox_events; ALTER TABLE sandboxes DROP COLUMN sync_pass; "
        "DROP TRIGGER pool_counts_insert; DROP TRIGGER pool_counts_delete; DROP TRIGGER pool_counts_status; "
        "DROP TABLE pool_counts; PRAGMA user_version = " +
        std::to_string(kVersionBeforeCounts));
    raw()->exec(
        "INSERT INTO sandboxes (sandbox_id, name, status, created_at, updated_at) "
        "VALUES ('900', 'old', 'available', 1, 1)");
    open();
    const StatusCounts counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 4);
    EXPECT_EQ(counts[SandboxStatus::stale], 2);
    EXPECT_EQ(counts.total(), 6);
}

TEST_F(SqlitePoolCountsTest, WritesByAnotherWriterAreCountedInTheirOwnStatement) {
    seed(3);
    auto conn = raw();
    conn->exec(
        "INSERT INTO sandboxes (sandbox_id, name, status, created_at, updated_at) "
        "VALUES ('900', 'by hand', 'deletion_failed', 1, 1)");
    conn->exec("UPDATE sandboxes SET status = 'pending_deletion' WHERE sandbox_id = '100'");
    conn->exec("UPDATE sandboxes SET name = 'renamed' WHERE sandbox_id = '101'");  // not a status change
    conn->exec("DELETE FROM sandboxes WHERE sandbox_id = '102'");
    const StatusCounts counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 1);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 1);
    EXPECT_EQ(counts[SandboxStatus::deletion_failed], 1);
    EXPECT_EQ(counts.total(), 3);
}

}  // namespace
}  // namespace broker::testing
