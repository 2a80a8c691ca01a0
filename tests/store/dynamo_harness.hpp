// DynamoDB for the store tests: a fresh table per test on the emulator that
// BROKER_TEST_DYNAMODB_URL names (scripts/dynalite.sh start prints one), deleted afterwards.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

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

}  // namespace broker::testing
