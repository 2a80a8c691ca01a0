// The deployment on one DynamoDB table (dynalite), as real processes: the provider simulator,
// two `serve` replicas and two `worker`s. Each job runs once per interval across both
// workers, and sandboxes returned through both replicas are deleted at the provider exactly
// once each. Skips unless BROKER_TEST_DYNAMODB_URL names an emulator.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/sim_process.hpp"
#include "e2e/test_clock.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

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
            replicas_.push_back(std::make_unique<BrokerRole>("serve", store_url, env, dir_.path(),
                                                             seconds(15), clock_.flags()));
            workers_.push_back(std::make_unique<BrokerRole>("worker", store_url, env, dir_.path(),
                                                            seconds(15), clock_.flags()));
        }
        DynamoOptions options;
        options.table = table_;
        options.client.endpoint = endpoint_;
        store_ = std::make_unique<DynamoStore>(
            options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
        ASSERT_TRUE(wait_until([&] { return count(SandboxStatus::available) == kPool; }, seconds(90)))
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
    // When `job` last finished a run, as the table records it (0 before its first).
    long long finished(const std::string& job) const {
        for (const auto& state : store_->job_states()) {
            if (state.job == job) return state.last_finished_at.value_or(0);
        }
        return 0;
    }
    // Moves the shared clock by `by` and waits until `job` (due by then) finished a run at it.
    void run_at_next(const std::string& job, seconds by) {
        clock_.advance(by);
        ASSERT_TRUE(wait_until([&] { return finished(job) == clock_.now(); }, seconds(60)))
            << job << " did not run at " << clock_.now();
    }

    TestClock clock_;  // every process of the deployment reads it
    TempDir dir_;
    std::string endpoint_, table_;
    std::unique_ptr<SimProcess> sim_;
    std::unique_ptr<DynamoStore> store_;
    std::vector<std::unique_ptr<BrokerRole>> replicas_;
    std::vector<std::unique_ptr<BrokerRole>> workers_;
};

TEST_F(DynamoWorkersTest, TwoWorkersListTheProviderOncePerSyncInterval) {
    constexpr int kIntervals = 4;
    ASSERT_TRUE(wait_until([&] { return finished("sync") == clock_.now(); }, seconds(60)))
        << "the first sync";
    const long long before = sim_stat("list_calls");
    // Each interval the clock moves, both workers wake, and one of them lists.
    for (int i = 0; i < kIntervals; ++i) {
        ASSERT_NO_FATAL_FAILURE(run_at_next("sync", seconds(kSyncIntervalSec)));
    }
    EXPECT_EQ(sim_stat("list_calls") - before, kIntervals);
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

    // Cleanup runs each second of the clock (a run takes every returned sandbox, batch by batch).
    for (int interval = 0; interval < 10 && count(SandboxStatus::deleted) < kReturned; ++interval) {
        ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));
    }
    ASSERT_EQ(count(SandboxStatus::deleted), kReturned);
    // A second deleter would show up within the next two cleanup runs.
    ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));
    ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));

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
