// Waiting allocations across processes. On PostgreSQL, waiters on two `serve` replicas are
// woken by sandboxes a `worker`'s sync commits (LISTEN/NOTIFY: the replicas' poll is set far
// beyond the wait, so only the notification can wake them in time). On DynamoDB, where no
// notification exists, a `serve` waiter is woken by the poll when another process imports.
// Skip without BROKER_TEST_POSTGRES_URL / BROKER_TEST_DYNAMODB_URL respectively.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/sim_process.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kProviderToken = "wait-sim-csp-token-3";

struct Waited {
    HttpResponse response;
    Clock::duration took{};
    std::string failure;
};

double waiters_on(const BrokerRole& replica) {
    auto http = replica.client();
    const auto res = http.get("/metrics");
    return res.status == 200 ? metric_sample(res.body, "broker_allocate_waiters") : -1;
}

TEST(AllocateWaitReplicas, WaitersOnTwoPostgresReplicasAreWokenByAWorkersSync) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    TempDir dir;
    PgSchema db(*url);
    SimProcess sim({"--sandboxes", "2", "--name-prefix", "pg-old-", "--token", kProviderToken});
    Environment settings = fast_jobs_settings(sim.url() + "/v2", kProviderToken, /*sync_interval_sec=*/2);
    settings["DB_POOL_SIZE"] = "4";
    settings["ALLOCATE_WAIT_POLL_MS"] = "60000";  // the poll cannot be what wakes them
    const Environment env = db.env(settings);
    const auto migrated = run_broker_command({"migrate", "--store", db.url()}, env, dir.path());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    std::vector<std::unique_ptr<BrokerRole>> replicas;
    for (int i = 0; i < 2; ++i)
        replicas.push_back(std::make_unique<BrokerRole>("serve", db.url(), env, dir.path()));
    BrokerRole worker("worker", db.url(), env, dir.path());

    constexpr int kPerReplica = 3;
    std::vector<Waited> waited(2 * kPerReplica);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2 * kPerReplica; ++i) {
        threads.emplace_back([&, i] {
            Waited& w = waited[static_cast<std::size_t>(i)];
            try {
                auto http = replicas[static_cast<std::size_t>(i % 2)]->client(40s);
                const auto start = Clock::now();
                w.response = allocate(http, unique_participant("pg-waiter"),
                                      {{"X-Sandbox-Name-Prefix", "pg-new-"}, {"Prefer", "wait=25"}});
                w.took = Clock::now() - start;
            } catch (const std::exception& e) {
                w.failure = e.what();
            }
        });
    }
    for (const auto& replica : replicas) {
        ASSERT_TRUE(wait_until([&] { return waiters_on(*replica) == kPerReplica; }, 10s))
            << waiters_on(*replica);
    }
    auto sim_http = sim.client();
    const auto added =
        sim_http.post("/_sim/accounts", {{"Content-Type", "application/json"}},
                      nlohmann::json{{"count", 2 * kPerReplica}, {"name_prefix", "pg-new-"}}.dump());
    ASSERT_EQ(added.status, 201) << added.body;
    for (auto& t : threads) t.join();

    std::set<std::string> ids;
    for (const auto& w : waited) {
        ASSERT_EQ(w.failure, "");
        ASSERT_EQ(w.response.status, 201) << w.response.body;
        ids.insert(w.response.json["sandbox_id"].get<std::string>());
        // A sync every 2 s and the notification: well within the wait, far from the 60 s poll.
        EXPECT_LT(w.took, 15s);
    }
    EXPECT_EQ(ids.size(), waited.size());
}

TEST(AllocateWaitReplicas, OnDynamoDbThePollWakesAWaiterWhenAnotherProcessImports) {
    const char* endpoint = std::getenv("BROKER_TEST_DYNAMODB_URL");
    if (!endpoint || !*endpoint)
        GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
    TempDir dir;
    const std::string table = "e2e_wait_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
    const std::string store_url = "dynamodb://" + table + "?endpoint=" + endpoint;
    Environment env = serving_env();
    env["AWS_ACCESS_KEY_ID"] = "e2e-key";
    env["AWS_SECRET_ACCESS_KEY"] = "e2e-secret";
    env["ALLOCATE_WAIT_POLL_MS"] = "500";
    struct DropTable {
        std::string endpoint, table;
        ~DropTable() {
            ddb::DynamoClientOptions options;
            options.endpoint = endpoint;
            ddb::DynamoClient client(
                options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
            client.call("DeleteTable", {{"TableName", table}});
        }
    } drop{endpoint, table};
    const auto migrated = run_broker_command({"migrate", "--store", store_url}, env, dir.path());
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
    BrokerRole replica("serve", store_url, env, dir.path());

    Waited w;
    std::thread waiter([&] {
        try {
            auto http = replica.client(40s);
            const auto start = Clock::now();
            w.response = allocate(http, unique_participant("ddb-waiter"), {{"Prefer", "wait=20"}});
            w.took = Clock::now() - start;
        } catch (const std::exception& e) {
            w.failure = e.what();
        }
    });
    ASSERT_TRUE(wait_until([&] { return waiters_on(replica) == 1; }, 10s));
    const auto file = dir.path() / "pool.json";
    std::ofstream(file) << csp_accounts_json(sandboxes("ddb-late-", 1, 8'100'000));
    const auto imported = run_broker_command({"import", file.string(), "--store", store_url}, env, dir.path(),
                                             std::chrono::seconds(60));
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    waiter.join();
    ASSERT_EQ(w.failure, "");
    EXPECT_EQ(w.response.status, 201) << w.response.body;
    EXPECT_LT(w.took, 15s);
}

}  // namespace
}  // namespace broker::e2e
