// import's reading of an account list: checked whole first, then upserted in chunks into a
// real SQLite store, with the summary `sandbox-broker import` prints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "app/account_import.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/temp_dir.hpp"

namespace broker {
namespace {

using ::testing::HasSubstr;

constexpr UnixSeconds kNow = 1'700'000'000;

std::string entry(int csp_id, const std::string& state = "active") {
    return R"({"account_type": "sandbox", "state": ")" + state + R"(", "id": "identity/accounts/u)" +
           std::to_string(csp_id) + R"(", "name": "lab-)" + std::to_string(csp_id) + R"(", "csp_id": )" +
           std::to_string(csp_id) + "}";
}

class AccountImportTest : public ::testing::Test {
  protected:
    void SetUp() override {
        store_ = std::make_unique<SqliteStore>(SqliteOptions{.path = dir_.file("broker.db")});
        store_->migrate();
    }

    testing::TempDir dir_;
    std::unique_ptr<SqliteStore> store_;
};

TEST_F(AccountImportTest, UpsertsTheListInChunksAndSumsTheSummary) {
    std::istringstream list(R"({"count": 7, "results": [)" + entry(1) + "," + entry(2) + "," +
                            entry(3, "deleted") + "," + entry(4) + R"(, "not an entry", )" + entry(5) + "," +
                            entry(6) + R"(], "next": null})");
    ASSERT_EQ(check_account_list(list).active, 5u);
    list.clear();
    list.seekg(0);
    const AccountImport first = import_account_list(list, *store_, kNow, /*chunk=*/2);
    EXPECT_EQ(first.listed, 5u);
    EXPECT_EQ(first.ignored, 2u);
    EXPECT_EQ(first.summary.inserted, 5);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 5);
    const auto sandbox = store_->get("6");
    ASSERT_TRUE(sandbox);
    EXPECT_EQ(sandbox->name, "lab-6");
    EXPECT_EQ(sandbox->external_id, "identity/accounts/u6");

    list.clear();
    list.seekg(0);
    const AccountImport again = import_account_list(list, *store_, kNow + 60, 3);
    EXPECT_EQ(again.summary.inserted, 0);
    EXPECT_EQ(again.summary.refreshed, 5);
}

TEST_F(AccountImportTest, TheCheckNamesTheFaultyEntryBeforeAnythingIsWritten) {
    std::istringstream list(R"({"results": [)" + entry(1) + "," + entry(2) +
                            R"(, {"account_type": "sandbox", "state": "active", "csp_id": 3}]})");
    try {
        check_account_list(list);
        FAIL() << "accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("results[2]"));
    }
    EXPECT_EQ(store_->count_by_status().total(), 0);
}

TEST_F(AccountImportTest, AListFaultyOnlyAtImportSaysWhatWasWritten) {
    std::istringstream list(R"({"results": [)" + entry(1) + "," + entry(2) + "," + entry(3) +
                            R"(, {"csp_id": )");
    try {
        import_account_list(list, *store_, kNow, 2);
        FAIL() << "accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("2 sandboxes were written"));
        EXPECT_THAT(e.what(), HasSubstr("not JSON"));
    }
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 2);
}

}  // namespace
}  // namespace broker
