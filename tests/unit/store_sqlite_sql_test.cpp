// The SQLite store's named statements (src/store/sqlite/sql/*.sql): each one prepares on the
// migrated schema, and every statement that returns sandboxes returns the reader's columns.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <stdexcept>
#include <string>

#include "../store/temp_dir.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/sandbox_sql.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace broker::sqlite {
namespace {

class SqliteNamedQueries : public ::testing::Test {
  protected:
    SqliteNamedQueries() {
        SqliteStore store(SqliteOptions{.path = dir_.file("broker.db")});
        store.migrate();
        store.upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"id-1", "sbx-1", "ext-1", "sfdc-1"}},
                                        1000);
    }

    std::vector<std::string> column_names(std::string_view text) {
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(
            sqlite3_prepare_v2(conn_.handle(), text.data(), static_cast<int>(text.size()), &stmt, nullptr),
            SQLITE_OK);
        std::vector<std::string> names;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) names.emplace_back(sqlite3_column_name(stmt, i));
        sqlite3_finalize(stmt);
        return names;
    }

    testing::TempDir dir_;
    Connection conn_{dir_.file("broker.db"), Connection::Mode::read_write, 1000};
};

TEST_F(SqliteNamedQueries, EveryStatementPreparesOnTheMigratedSchema) {
    std::set<std::string_view> names;
    for (const auto& q : sql::kAll) {
        SCOPED_TRACE(std::string(q.file) + ": " + std::string(q.name));
        EXPECT_TRUE(names.insert(q.name).second);
        EXPECT_NO_THROW(conn_.query(q.text));
    }
    // Those the store's code names (a missing one would not compile) are among them.
    for (auto text : {sql::kPickAvailable, sql::kExpire, sql::kStartJob, sql::kSearch, sql::kInsertCopied}) {
        bool found = false;
        for (const auto& q : sql::kAll) found = found || q.text == text;
        EXPECT_TRUE(found);
    }
}

TEST_F(SqliteNamedQueries, EveryStatementReturningSandboxesReturnsTheReadersColumnsInOrder) {
    int sandbox_statements = 0;
    for (const auto& q : sql::kAll) {
        const auto names = column_names(q.text);
        if (names.size() < 2 || names[0] != "sandbox_id" || names[1] != "name") continue;
        SCOPED_TRACE(std::string(q.file) + ": " + std::string(q.name));
        ++sandbox_statements;
        EXPECT_NO_THROW(conn_.query(q.text).expect_columns(kSandboxColumns));
    }
    EXPECT_GE(sandbox_statements, 10);
}

TEST_F(SqliteNamedQueries, TheReaderRefusesColumnsOutOfPlace) {
    auto good = conn_.query(sql::kFindById);
    good.bind(1, std::string_view("id-1"));
    ASSERT_TRUE(good.step());
    const Sandbox s = read_sandbox(good);
    EXPECT_EQ(s.sandbox_id, "id-1");
    EXPECT_EQ(s.name, "sbx-1");
    EXPECT_EQ(s.external_id, "ext-1");
    EXPECT_EQ(s.status, SandboxStatus::available);

    // name and external_id swapped: both text, so only the column names tell.
    auto swapped = conn_.query(
        "SELECT sandbox_id, external_id, name, sfdc_account_id, status, allocated_to_track, track_name, "
        "idempotency_key, allocated_at, expires_at, deletion_requested_at, deletion_retry_count, created_at, "
        "updated_at, version FROM sandboxes");
    ASSERT_TRUE(swapped.step());
    EXPECT_THROW(read_sandbox(swapped), std::logic_error);
    auto short_row = conn_.query("SELECT sandbox_id, name FROM sandboxes");
    ASSERT_TRUE(short_row.step());
    EXPECT_THROW(read_sandbox(short_row), std::logic_error);
}

TEST_F(SqliteNamedQueries, AQueryIsExactlyOneStatement) {
    EXPECT_THROW(conn_.query("SELECT 1; SELECT 2"), std::logic_error);
    EXPECT_NO_THROW(conn_.query("SELECT 1;"));
}

}  // namespace
}  // namespace broker::sqlite
