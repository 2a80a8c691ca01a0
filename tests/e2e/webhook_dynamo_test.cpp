// Webhooks on a DynamoDB table (dynalite), end to end on the real binary (`run`): a
// subscription made through the admin API, one allocation delivered to a receiver in the
// test, signed. Skips unless BROKER_TEST_DYNAMODB_URL names an emulator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/webhook_receiver.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

using std::chrono::seconds;
using webhook_receiver::Receiver;

TEST(WebhookDynamo, ASubscriptionReceivesAnAllocationSigned) {
    const char* endpoint = std::getenv("BROKER_TEST_DYNAMODB_URL");
    if (!endpoint || !*endpoint)
        GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
    TempDir dir;
    const std::string table = "e2e_wh_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
    const std::string store_url = "dynamodb://" + table + "?endpoint=" + endpoint;
    Environment env = serving_env();
    env["AWS_ACCESS_KEY_ID"] = "e2e-key";  // the emulator checks the signature's form only
    env["AWS_SECRET_ACCESS_KEY"] = "e2e-secret";
    env["WEBHOOK_POLL_MS"] = "50";
    const auto migrated = run_broker_command({"migrate", "--store", store_url}, env, dir.path());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    const auto file = dir.path() / "pool.json";
    std::ofstream(file) << csp_accounts_json(sandboxes("ddb-wh-", 5, 8'400'000));
    const auto imported = run_broker_command({"import", file.string(), "--store", store_url}, env, dir.path());
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    {
        BrokerRole broker("run", store_url, env, dir.path());
        Receiver receiver;
        auto http = broker.client();
        const nlohmann::json body = {{"url", receiver.url()}, {"event_types", {"sandbox.allocated"}}};
        const auto created = http.post(
            "/v1/admin/webhooks", {{"Authorization", "Bearer " + kAdminToken}, {"Content-Type", "application/json"}},
            body.dump());
        ASSERT_EQ(created.status, 201) << created.body;
        receiver.set_secret(created.json.value("secret", ""));

        const auto allocated = allocate(http, unique_participant("ddb-wh"));
        ASSERT_EQ(allocated.status, 201) << allocated.body;
        ASSERT_TRUE(wait_until([&] { return receiver.delivered().size() == 1u; }, seconds(20)))
            << broker.err();
        const auto receipts = receiver.receipts();
        ASSERT_FALSE(receipts.empty());
        EXPECT_TRUE(receipts.front().signature_ok);
        EXPECT_EQ(receipts.front().type, "sandbox.allocated");
        EXPECT_EQ(receipts.front().sandbox_id, allocated.json.value("sandbox_id", "?"));
    }
    ddb::DynamoClientOptions options;
    options.endpoint = endpoint;
    ddb::DynamoClient client(options,
                             std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
    client.call("DeleteTable", {{"TableName", table}});
}

}  // namespace
}  // namespace broker::e2e
