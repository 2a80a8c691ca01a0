// Two `serve` replicas of the real binary on one PostgreSQL schema: allocations spread over
// both never hand one sandbox out twice, a participant racing itself over both gets one
// sandbox, and a replica killed with SIGKILL leaves the other serving the same state.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/ha_fixture.hpp"

namespace broker::e2e {
namespace {

class HaReplicasTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto url = test_postgres_url();
        if (!url) GTEST_SKIP() << kNoPostgres;
        db_ = std::make_unique<PgSchema>(*url);
        db_->migrate_and_import(sandboxes("ha-sandbox-", kPool, 7'000'000), dir_.path());
        // Small pools on purpose: two replicas share the server with the other tests.
        const Environment env = db_->env({{"DB_POOL_SIZE", "8"}, {"STORE_THREADS", "16"}});
        for (int i = 0; i < 2; ++i)
            replicas_.push_back(std::make_unique<BrokerRole>("serve", db_->url(), env, dir_.path()));
    }

    // Who holds what, as committed: sandbox_id -> participant, allocated rows only.
    std::map<std::string, std::string> holdings() const {
        std::map<std::string, std::string> held;
        for (const auto& row :
             db_->query("SELECT sandbox_id, allocated_to_track FROM sandboxes WHERE status = 'allocated'")) {
            held[row[0]] = row[1];
        }
        return held;
    }

    static constexpr int kPool = 3000;
    TempDir dir_;
    std::unique_ptr<PgSchema> db_;
    std::vector<std::unique_ptr<BrokerRole>> replicas_;  // destroyed before the schema is dropped
};

struct Grant {
    int status = 0;
    std::string sandbox_id;
    std::string participant;
    int replica = 0;
    std::string failure;
};

TEST_F(HaReplicasTest, ThreeHundredAllocationsAtConcurrency100OverTwoReplicasAreAllDistinct) {
    constexpr int kConnections = 100;
    constexpr int kPerConnection = 3;
    std::vector<Grant> grants(kConnections * kPerConnection);
    run_together(kConnections, [&](int i) {
        const int replica = i % 2;
        for (int n = 0; n < kPerConnection; ++n) {
            auto& grant = grants[static_cast<std::size_t>(i * kPerConnection + n)];
            grant.replica = replica;
            grant.participant = unique_participant("spread");
            try {
                // One connection per request, as lab scripts do; a load balancer would spread them.
                auto client = replicas_[static_cast<std::size_t>(replica)]->client();
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
    int per_replica[2] = {0, 0};
    for (const auto& grant : grants) {
        ASSERT_EQ(grant.failure, "") << grant.participant;
        ASSERT_EQ(grant.status, 201) << grant.participant << " on replica " << grant.replica;
        ASSERT_FALSE(grant.sandbox_id.empty());
        distinct.insert(grant.sandbox_id);
        ++per_replica[grant.replica];
    }
    EXPECT_EQ(distinct.size(), grants.size()) << "a sandbox was handed to two participants";
    EXPECT_EQ(per_replica[0], 150);
    EXPECT_EQ(per_replica[1], 150);

    // What was answered is what was committed, and nothing else was.
    const auto held = holdings();
    EXPECT_EQ(held.size(), grants.size());
    for (const auto& grant : grants) {
        const auto it = held.find(grant.sandbox_id);
        ASSERT_NE(it, held.end()) << grant.sandbox_id << " answered but not allocated in the database";
        EXPECT_EQ(it->second, grant.participant);
    }
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM sandboxes WHERE status = 'available'"), kPool - 300);
}

TEST_F(HaReplicasTest, OneParticipantRacingItselfOverBothReplicasGetsOneSandbox) {
    constexpr int kRounds = 5;
    constexpr int kRacers = 20;  // ten on each replica, released together
    for (int round = 0; round < kRounds; ++round) {
        const std::string participant = unique_participant("racer");
        std::vector<Grant> grants(kRacers);
        run_together(kRacers, [&](int i) {
            auto& grant = grants[static_cast<std::size_t>(i)];
            grant.replica = i % 2;
            try {
                auto client = replicas_[static_cast<std::size_t>(grant.replica)]->client();
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
        EXPECT_EQ(created, 1) << "round " << round << ": one request allocates, the others find it";
        EXPECT_EQ(ids.size(), 1U) << "round " << round << ": every answer names the same sandbox";
        EXPECT_EQ(db_->scalar(
                      "SELECT count(*) FROM sandboxes WHERE status = 'allocated' AND allocated_to_track = '" +
                      participant + "'"),
                  1);
    }
}

TEST_F(HaReplicasTest, ReplicaKilledWithSigkillLeavesTheOtherServing) {
    auto& doomed = *replicas_[0];
    auto& survivor = *replicas_[1];
    const std::string early = unique_participant("early");
    std::string early_sandbox;
    {
        auto client = doomed.client();
        const auto res = allocate(client, early);
        ASSERT_EQ(res.status, 201) << res.body;
        early_sandbox = res.json["sandbox_id"].get<std::string>();
    }

    // Load on both replicas; the doomed one dies under it.
    std::atomic<bool> done{false};
    std::mutex mutex;
    std::map<int, int> survivor_statuses;
    std::vector<std::string> survivor_failures;
    std::atomic<int> survivor_after_kill{0};
    std::atomic<bool> killed{false};
    std::vector<std::thread> load;
    for (int i = 0; i < 8; ++i) {
        load.emplace_back([&, i] {
            const bool on_survivor = i % 2 == 1;
            std::optional<HttpClient> client;
            while (!done) {
                try {
                    if (!client) client.emplace("127.0.0.1", on_survivor ? survivor.port() : doomed.port());
                    const auto res = allocate(*client, unique_participant("load"));
                    // Paced, so the pool outlasts the test: what is measured is who answers.
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    if (!on_survivor) continue;
                    std::lock_guard lock(mutex);
                    ++survivor_statuses[res.status];
                    if (killed && res.status == 201) ++survivor_after_kill;
                } catch (const std::exception& e) {
                    client.reset();
                    if (!on_survivor) {
                        std::this_thread::sleep_for(
                            std::chrono::milliseconds(20));  // the dead replica refuses
                        continue;
                    }
                    std::lock_guard lock(mutex);
                    survivor_failures.push_back(e.what());
                }
            }
        });
    }
    // Real traffic for a while on each side of the kill (machine time on purpose: what is
    // measured is who answers while a process dies, not anything the broker schedules).
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    doomed.kill9();
    killed = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    done = true;
    for (auto& thread : load) thread.join();

    EXPECT_TRUE(survivor_failures.empty()) << survivor_failures.front();
    for (const auto& [status, count] : survivor_statuses) EXPECT_EQ(status, 201) << count << " answers";
    EXPECT_GT(survivor_after_kill.load(), 0) << "the survivor allocated nothing after the kill";

    // The state lives in the database, not in the replica: the survivor knows the early grant.
    auto client = survivor.client();
    const auto again = allocate(client, early);
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.json.value("sandbox_id", ""), early_sandbox);
    EXPECT_EQ(client.get("/readyz").status, 200);

    // And nothing was handed out twice, the killed replica's in-flight requests included.
    EXPECT_EQ(db_->scalar("SELECT count(*) - count(DISTINCT allocated_to_track) FROM sandboxes "
                          "WHERE status = 'allocated'"),
              0);
}

}  // namespace
}  // namespace broker::e2e
