// SQLite-specific checks of the jobs' SQL: each job's pick is an index range of its own
// status (a scan would cost O(pool) under the write lock), and counts still use their index.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/sandbox_sql.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

class SqliteLifecyclePlanTest : public ::testing::Test {
  protected:
    void SetUp() override {
        SqliteStore store(SqliteOptions{.path = path_});
        store.migrate();
    }

    std::string plan(std::string_view sql) {
        sqlite::Connection conn(path_, sqlite::Connection::Mode::read_write, 10'000);
        std::string text;
        auto q = conn.query("EXPLAIN QUERY PLAN " + std::string(sql));
        while (q.step()) text += q.text(3) + "\n";
        return text;
    }

    TempDir dir_;
    std::string path_ = dir_.file("store.db");
};

TEST_F(SqliteLifecyclePlanTest, EachJobSeeksItsOwnIndex) {
    const std::vector<std::pair<std::string_view, std::string>> expected = {
        {sqlite::sql::kExpire, "sandboxes_allocated_expires (expires_at<?)"},
        // Every row of the partial index is pending; in order, so LIMIT stops the scan early.
        {sqlite::sql::kClaimablePending, "USING INDEX sandboxes_pending_requested"},
        {sqlite::sql::kClaimableFailed, "sandboxes_failed_next_attempt (next_attempt_at<?)"},
        {sqlite::sql::kRemoveStale, "sandboxes_stale_since (stale_since<?)"},
        {sqlite::sql::kPruneHistory, "sandbox_events_at (at<?)"},
        // A page: the status index from the last page's (name, id) on, in its order.
        {sqlite::sql::kUnstampedAvailable, "sandboxes_status_name (status=? AND (name,sandbox_id)>(?,?))"},
    };
    for (const auto& [sql, index] : expected) {
        const std::string text = plan(sql);
        EXPECT_NE(text.find(index), std::string::npos) << sql << "\n" << text;
        EXPECT_EQ(("\n" + text).find("\nSCAN sandboxes\n"), std::string::npos) << sql << "\n" << text;
        EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << sql << "\n" << text;
    }
}

TEST_F(SqliteLifecyclePlanTest, ExpiryAndStaleMarkingUpdateByPrimaryKeyNotByStatus) {
    for (const std::string_view sql : {sqlite::sql::kExpire, sqlite::sql::kMarkUnstampedStale}) {
        const std::string text = plan(sql);
        EXPECT_NE(text.find("USING PRIMARY KEY (sandbox_id=?)"), std::string::npos) << sql << "\n" << text;
        EXPECT_EQ(text.find("sandboxes_status_name"), std::string::npos) << sql << "\n" << text;
    }
}

}  // namespace
}  // namespace broker::testing
