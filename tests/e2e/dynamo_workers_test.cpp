// The deployment on one DynamoDB table (dynalite), as real processes: the provider simulator,
// two `serve` replicas and two `worker`s. Each job runs once per interval across both
// workers, and sandboxes returned through both replicas are deleted at the provider exactly
// once each. Skips unless BROKER_TEST_DYNAMODB_URL names an emulator.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <thread>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/sim_process.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kProviderToken = "ddb-sim-csp-token-3";
constexpr int kSyncIntervalSec = 2;

class DynamoWorkersTest : public ::testing::Test {
  protected:
    static constexpr int kPool = 120;

    void SetUp() override {
        const char* url = std::getenv("BROKER_TEST_DYNAMODB_URL");
        if (!url || !*url)
            GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
        endpoint_ = url;
        table_ = "e2ew_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
        const std::string store_url = "dynamodb://" + table_ + "?endpoint=" + endpoint_;
        sim_ = std::make_unique<SimProcess>(std::vector<std::string>{
            "--sandboxes", std::to_string(kPool), "--name-prefix", "ddb-w-", "--token", kProviderToken});
        Environment env = serving_env();
        for (const auto& [name, value] :
             fast_jobs_settings(sim_->url() + "/v2", kProviderToken, kSyncIntervalSec))
            env[name] = value;
        env["AWS_ACCESS_KEY_ID"] = "e2e-key";
        env["AWS_SECRET_ACCESS_KEY"] = "e2e-secret";
        const auto migrated = run_broker_command({"migrate", "--store", store_url}, env, dir_.path());
        ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
        for (int i = 0; i < 2; ++i) {
            replicas_.push_back(std::make_unique<BrokerRole>("serve", store_url, env, dir_.path()));
            workers_.push_back(std::make_unique<BrokerRole>("worker", store_url, env, dir_.path()));
        }
        DynamoOptions options;
        options.table = table_;
        options.client.endpoint = endpoint_;
        store_ = std::make_unique<DynamoStore>(
            options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
        ASSERT_TRUE(wait_until([&] { return count(SandboxStatus::available) == kPool; }, seconds(30)))
            << count(SandboxStatus::available) << " of " << kPool << " sandboxes after the first sync\n"
            << workers_[0]->err();
    }

    void TearDown() override {
        replicas_.clear();
        workers_.clear();
        if (store_) {
            ddb::DynamoClientOptions options;
            options.endpoint = endpoint_;
            ddb::DynamoClient(
                options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}))
                .call("DeleteTable", {{"TableName", table_}});
        }
    }

    long long count(SandboxStatus status) const { return store_->count_by_status()[status]; }
    long long sim_stat(const char* name) const { return sim_->stats().value(name, -1LL); }

    TempDir dir_;
    std::string endpoint_, table_;
    std::unique_ptr<SimProcess> sim_;
    std::unique_ptr<DynamoStore> store_;
    std::vector<std::unique_ptr<BrokerRole>> replicas_;
    std::vector<std::unique_ptr<BrokerRole>> workers_;
};

TEST_F(DynamoWorkersTest, TwoWorkersListTheProviderOncePerSyncInterval) {
    constexpr int kIntervals = 4;
    const long long before = sim_stat("list_calls");
    std::this_thread::sleep_for(seconds(kIntervals * kSyncIntervalSec));
    const long long lists = sim_stat("list_calls") - before;
    std::cout << "[ workers  ] " << lists << " account lists in " << kIntervals * kSyncIntervalSec << " s"
              << std::endl;
    EXPECT_GE(lists, kIntervals - 1);
    EXPECT_LE(lists, kIntervals + 1);
    for (const auto& worker : workers_) EXPECT_EQ(::kill(worker->pid(), 0), 0);
}

TEST_F(DynamoWorkersTest, ReturnedSandboxesAreDeletedExactlyOnceAtTheProvider) {
    constexpr int kReturned = 30;
    std::vector<std::string> returned(kReturned);
    std::vector<std::string> failures(kReturned);
    run_together(kReturned, [&](int i) {
        try {
            const std::string participant = unique_participant("ddb-returning");
            auto first = replicas_[static_cast<std::size_t>(i % 2)]->client(seconds(30));
            const auto granted = allocate(first, participant);
            if (granted.status != 201)
                throw std::runtime_error("allocate answered " + std::to_string(granted.status));
            const auto sandbox_id = granted.json["sandbox_id"].get<std::string>();
            auto second = replicas_[static_cast<std::size_t>((i + 1) % 2)]->client(seconds(30));
            const auto marked = mark_for_deletion(second, sandbox_id, participant);
            if (marked.status != 200)
                throw std::runtime_error("mark answered " + std::to_string(marked.status));
            returned[static_cast<std::size_t>(i)] = sandbox_id;
        } catch (const std::exception& e) {
            failures[static_cast<std::size_t>(i)] = e.what();
        }
    });
    for (const auto& failure : failures) ASSERT_EQ(failure, "");

    ASSERT_TRUE(wait_until([&] { return count(SandboxStatus::deleted) == kReturned; }, seconds(40)))
        << count(SandboxStatus::deleted) << " of " << kReturned << " deleted";
    std::this_thread::sleep_for(milliseconds(2500));  // a second deleter would show by now

    const auto stats = sim_->stats();
    EXPECT_EQ(stats.value("delete_calls", -1LL), kReturned) << stats.dump();
    EXPECT_EQ(stats.value("deleted", -1LL), kReturned) << stats.dump();
    EXPECT_EQ(stats.value("delete_not_found", -1LL), 0) << stats.dump();
    for (const auto& id : returned) {
        int to_deleted = 0;
        for (const auto& e : store_->history(id)) to_deleted += e.to == SandboxStatus::deleted;
        EXPECT_EQ(to_deleted, 1) << id;
    }
}

}  // namespace
}  // namespace broker::e2e
