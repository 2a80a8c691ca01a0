// DynamoDB for the store tests: a fresh table per test on the emulator that
// BROKER_TEST_DYNAMODB_URL names (scripts/dynalite.sh start prints one), deleted afterwards.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store_harness.hpp"

namespace broker::testing {

// The emulator's endpoint, empty when none is configured.
std::string test_dynamodb_url();

// A table name of its own (the table itself is created by the store's migrate()), dropped
// when this goes.
class DynamoTable {
  public:
    explicit DynamoTable(std::string endpoint);
    ~DynamoTable();
    DynamoOptions options() const;
    // A client on the same emulator, for writing items as another program would.
    ddb::DynamoClient& client() { return *client_; }
    const std::string& name() const { return name_; }
    // Writes the broker's schema item as a release at `version` would have left it.
    void put_schema_item(int version, int compatible_from);

  private:
    std::string endpoint_;
    std::string name_;
    std::unique_ptr<ddb::DynamoClient> client_;
};

std::shared_ptr<AwsCredentialProvider> test_aws_credentials();
std::unique_ptr<StoreHarness> make_dynamo_harness(const std::string& endpoint);

// A test on a table of its own and a DynamoStore on it (not migrated: a test decides what the
// table holds first); skipped when no emulator is configured.
class DynamoTableTest : public ::testing::Test {
  protected:
    static constexpr UnixSeconds kTableTestNow = 1'700'000'000;

    void SetUp() override;
    // Every item of the table, page after page.
    std::vector<nlohmann::json> scan_all();
    // An allocation for `participant` (also its idempotency key) on track-a with a 4 h lease.
    AllocateRequest request(const std::string& participant, UnixSeconds now = kTableTestNow) const;

    std::unique_ptr<DynamoTable> table_;
    std::unique_ptr<DynamoStore> store_;
};

}  // namespace broker::testing
