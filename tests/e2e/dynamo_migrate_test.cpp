// Only `migrate` creates a DynamoDB table: `serve` and `worker` on a table that does not exist
// (a mistyped DDB_TABLE_NAME, a wrong AWS_REGION) stop with exit 2, naming the table and the
// region and the way out, and create nothing; `migrate` then creates it and `serve` runs on it.
// Skips unless BROKER_TEST_DYNAMODB_URL names an emulator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "e2e/broker_fixture.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

class DynamoMigrateTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* url = std::getenv("BROKER_TEST_DYNAMODB_URL");
        if (!url || !*url)
            GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
        ddb::DynamoClientOptions options;
        options.endpoint = url;
        client_ = std::make_unique<ddb::DynamoClient>(
            options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
        table_ = "e2em_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
        store_url_ = "dynamodb://" + table_ + "?endpoint=" + std::string(url) + "&region=us-east-1";
        env_ = serving_env();
        env_["AWS_ACCESS_KEY_ID"] = "e2e-key";
        env_["AWS_SECRET_ACCESS_KEY"] = "e2e-secret";
        // The worker's provider: never reached, the worker stops at the store first.
        env_["CSP_BASE_URL"] = "http://127.0.0.1:9/v2";
        env_["CSP_API_TOKEN"] = "e2e-csp-token";
    }

    void TearDown() override {
        if (client_) client_->call("DeleteTable", {{"TableName", table_}});
    }

    bool table_exists() { return client_->call("DescribeTable", {{"TableName", table_}}).ok(); }

    TempDir dir_;
    std::unique_ptr<ddb::DynamoClient> client_;
    std::string table_, store_url_;
    Environment env_;
};

TEST_F(DynamoMigrateTest, ServeAndWorkerOnAMissingTableStopAndCreateNothingMigrateCreatesIt) {
    for (const char* command : {"serve", "worker"}) {
        const auto refused = run_broker_command({command, "--store", store_url_}, env_, dir_.path());
        EXPECT_EQ(refused.exit_code, 2) << command << "\n" << refused.out << refused.err;
        EXPECT_NE(refused.err.find("DynamoDB table " + table_ + " does not exist in region us-east-1"),
                  std::string::npos)
            << command << "\n"
            << refused.err;
        EXPECT_NE(refused.err.find("run sandbox-broker migrate"), std::string::npos) << refused.err;
        EXPECT_FALSE(table_exists()) << command << " created the table";
    }

    const auto migrated = run_broker_command({"migrate", "--store", store_url_}, env_, dir_.path());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.out << migrated.err;
    EXPECT_NE(migrated.out.find("created the schema"), std::string::npos) << migrated.out;
    EXPECT_TRUE(table_exists());

    BrokerProcess serving(store_url_, env_, dir_.path());
    EXPECT_EQ(serving.stop(), 0);
}

}  // namespace
}  // namespace broker::e2e
