// Two `serve` replicas of the real binary on one DynamoDB table (dynalite): allocations
// spread over both never hand one sandbox out twice, and a participant racing itself over
// both holds one sandbox. Skips unless BROKER_TEST_DYNAMODB_URL names an emulator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "store/dynamodb/dynamo_store.hpp"
#include "store/dynamodb/static_credentials.hpp"

namespace broker::e2e {
namespace {

class DynamoReplicasTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* url = std::getenv("BROKER_TEST_DYNAMODB_URL");
        if (!url || !*url)
            GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
        endpoint_ = url;
        table_ = "e2e_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
        store_url_ = "dynamodb://" + table_ + "?endpoint=" + endpoint_;
        env_ = serving_env();
        env_["AWS_ACCESS_KEY_ID"] = "e2e-key";  // the emulator checks the signature's form only
        env_["AWS_SECRET_ACCESS_KEY"] = "e2e-secret";
        // A deployment's bound on the store work one replica runs at once: a burst queues in
        // the replica instead of 64 calls per replica at the emulator at once, where on a busy
        // machine an allocation could run past its time budget (503) while others held it up.
        env_["STORE_THREADS"] = "8";
        const auto migrated = run_broker_command({"migrate", "--store", store_url_}, env_, dir_.path());
        ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
        const auto file = dir_.path() / "pool.json";
        std::ofstream(file) << csp_accounts_json(sandboxes("ddb-sandbox-", kPool, 8'000'000));
        const auto imported = run_broker_command({"import", file.string(), "--store", store_url_}, env_,
                                                 dir_.path(), std::chrono::seconds(120));
        ASSERT_EQ(imported.exit_code, 0) << imported.err;
        for (int i = 0; i < 2; ++i)
            replicas_.push_back(std::make_unique<BrokerRole>("serve", store_url_, env_, dir_.path()));
    }

    void TearDown() override {
        replicas_.clear();
        if (table_.empty()) return;
        ddb::DynamoClientOptions options;
        options.endpoint = endpoint_;
        ddb::DynamoClient client(
            options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
        client.call("DeleteTable", {{"TableName", table_}});
    }

    // The table as the store reads it, for what was really written.
    std::unique_ptr<DynamoStore> direct() const {
        DynamoOptions options;
        options.table = table_;
        options.client.endpoint = endpoint_;
        return std::make_unique<DynamoStore>(
            options, std::make_shared<StaticAwsCredentials>(AwsCredentials{"k", "s", "", std::nullopt}));
    }

    static constexpr int kPool = 400;
    TempDir dir_;
    std::string endpoint_, table_, store_url_;
    Environment env_;
    std::vector<std::unique_ptr<BrokerRole>> replicas_;
};

struct Grant {
    int status = 0;
    std::string sandbox_id;
    std::string participant;
    std::string failure;
};

TEST_F(DynamoReplicasTest, ThreeHundredAllocationsAtConcurrency100OverTwoReplicasAreAllDistinct) {
    constexpr int kConnections = 100;
    constexpr int kPerConnection = 3;
    std::vector<Grant> grants(kConnections * kPerConnection);
    run_together(kConnections, [&](int i) {
        for (int n = 0; n < kPerConnection; ++n) {
            auto& grant = grants[static_cast<std::size_t>(i * kPerConnection + n)];
            grant.participant = unique_participant("ddb-spread");
            try {
                auto client = replicas_[static_cast<std::size_t>(i % 2)]->client(std::chrono::seconds(120));
                const auto res = allocate(client, grant.participant);
                grant.status = res.status;
                if (res.json.is_object() && res.json.contains("sandbox_id"))
                    grant.sandbox_id = res.json["sandbox_id"].get<std::string>();
            } catch (const std::exception& e) {
                grant.failure = e.what();
            }
        }
    });
    std::set<std::string> distinct;
    for (const auto& grant : grants) {
        ASSERT_EQ(grant.failure, "") << grant.participant;
        ASSERT_EQ(grant.status, 201) << grant.participant;
        distinct.insert(grant.sandbox_id);
    }
    EXPECT_EQ(distinct.size(), grants.size()) << "a sandbox was handed to two participants";

    const auto store = direct();
    const auto counts = store->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::allocated], 300);
    EXPECT_EQ(counts[SandboxStatus::available], kPool - 300);
    for (const auto& grant : grants) {
        const auto row = store->get(grant.sandbox_id);
        ASSERT_TRUE(row);
        EXPECT_EQ(row->allocated_to_track, grant.participant);
    }
}

TEST_F(DynamoReplicasTest, OneParticipantRacingItselfOverBothReplicasGetsOneSandbox) {
    for (int round = 0; round < 3; ++round) {
        const std::string participant = unique_participant("ddb-racer");
        std::vector<Grant> grants(20);
        run_together(20, [&](int i) {
            auto& grant = grants[static_cast<std::size_t>(i)];
            try {
                auto client = replicas_[static_cast<std::size_t>(i % 2)]->client(std::chrono::seconds(120));
                const auto res = allocate(client, participant);
                grant.status = res.status;
                if (res.json.is_object() && res.json.contains("sandbox_id"))
                    grant.sandbox_id = res.json["sandbox_id"].get<std::string>();
            } catch (const std::exception& e) {
                grant.failure = e.what();
            }
        });
        int created = 0;
        std::set<std::string> ids;
        for (const auto& grant : grants) {
            ASSERT_EQ(grant.failure, "");
            ASSERT_TRUE(grant.status == 201 || grant.status == 200) << "status " << grant.status;
            created += grant.status == 201 ? 1 : 0;
            ids.insert(grant.sandbox_id);
        }
        EXPECT_EQ(created, 1) << "round " << round;
        EXPECT_EQ(ids.size(), 1U) << "round " << round;
    }
    EXPECT_EQ(direct()->count_by_status()[SandboxStatus::allocated], 3);
}

TEST_F(DynamoReplicasTest, AReplicaKilledMidAllocationLosesNothingItAnswered) {
    // Load on both replicas; one is killed with SIGKILL while requests are in flight.
    std::mutex mutex;
    std::vector<Grant> answered;
    std::atomic<bool> done{false};
    std::vector<std::thread> load;
    for (int t = 0; t < 16; ++t) {
        load.emplace_back([&, t] {
            while (!done) {
                Grant grant;
                grant.participant = unique_participant("ddb-kill");
                try {
                    auto client =
                        replicas_[static_cast<std::size_t>(t % 2)]->client(std::chrono::seconds(10));
                    const auto res = allocate(client, grant.participant);
                    grant.status = res.status;
                    if (res.json.is_object() && res.json.contains("sandbox_id"))
                        grant.sandbox_id = res.json["sandbox_id"].get<std::string>();
                } catch (const std::exception&) {
                    // The killed replica's connections break: no answer, nothing to keep.
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    continue;
                }
                std::lock_guard lock(mutex);
                answered.push_back(std::move(grant));
            }
        });
    }
    // Real traffic on each side of the kill: answers from both replicas before it, and from
    // the one left after it (counted, not timed: a busy machine only makes this take longer).
    const auto answered_by = [&](int status, std::size_t from) {
        std::lock_guard lock(mutex);
        int n = 0;
        for (std::size_t i = from; i < answered.size(); ++i) n += answered[i].status == status;
        return n;
    };
    const bool before = wait_until([&] { return answered_by(201, 0) >= 20; }, std::chrono::seconds(120));
    std::size_t at_kill = 0;
    {
        std::lock_guard lock(mutex);
        at_kill = answered.size();
    }
    replicas_[0]->kill9();
    const bool after = wait_until([&] { return answered_by(201, at_kill) >= 20; }, std::chrono::seconds(120));
    done = true;
    for (auto& thread : load) thread.join();
    ASSERT_TRUE(before) << "no allocations answered before the kill";
    ASSERT_TRUE(after) << "the replica left answered no allocations after the kill";

    // Every 201 names a sandbox that is allocated to that participant, and no sandbox went to two.
    const auto store = direct();
    std::set<std::string> distinct;
    int created = 0;
    for (const auto& grant : answered) {
        if (grant.status != 201) continue;
        ++created;
        EXPECT_TRUE(distinct.insert(grant.sandbox_id).second) << grant.sandbox_id << " answered twice";
        const auto row = store->get(grant.sandbox_id);
        ASSERT_TRUE(row) << grant.sandbox_id;
        EXPECT_EQ(row->status, SandboxStatus::allocated);
        EXPECT_EQ(row->allocated_to_track, grant.participant);
    }
    EXPECT_GT(created, 0);
    // Allocations the killed replica made but never answered are held, not lost or doubled.
    EXPECT_GE(store->count_by_status()[SandboxStatus::allocated], created);
}

}  // namespace
}  // namespace broker::e2e
