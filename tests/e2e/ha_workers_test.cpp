// The whole deployment of the issue, as real processes: one PostgreSQL schema, the provider
// simulator, two `serve` replicas and two `worker`s. Each job runs once per interval across
// both workers (the simulator counts one account list per sync interval, not two), and
// sandboxes returned through both replicas are deleted at the provider exactly once each.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/sim_process.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using std::chrono::seconds;

const std::string kProviderToken = "ha-sim-csp-token-7";
constexpr int kSyncIntervalSec = 2;

class HaWorkersTest : public ::testing::Test {
  protected:
    static constexpr int kPool = 200;

    void SetUp() override {
        const auto url = test_postgres_url();
        if (!url) GTEST_SKIP() << kNoPostgres;
        db_ = std::make_unique<PgSchema>(*url);
        sim_ = std::make_unique<SimProcess>(std::vector<std::string>{
            "--sandboxes", std::to_string(kPool), "--name-prefix", "ha-w-", "--token", kProviderToken});
        Environment settings = fast_jobs_settings(sim_->url() + "/v2", kProviderToken, kSyncIntervalSec);
        settings["DB_POOL_SIZE"] = "4";
        const Environment env = db_->env(settings);
        // Migrations once, before any process of the deployment starts.
        const auto migrated = run_broker_command({"migrate", "--store", db_->url()}, env, dir_.path());
        ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
        for (int i = 0; i < 2; ++i) {
            replicas_.push_back(std::make_unique<BrokerRole>("serve", db_->url(), env, dir_.path(),
                                                             seconds(15), clock_.flags()));
            workers_.push_back(std::make_unique<BrokerRole>("worker", db_->url(), env, dir_.path(),
                                                            seconds(15), clock_.flags()));
        }
        // The first sync fills the pool from the simulator (an event: generous on a loaded machine).
        ASSERT_TRUE(wait_until([&] { return available() == kPool; }, seconds(60)))
            << available() << " of " << kPool << " sandboxes after the first sync\n"
            << workers_[0]->err();
    }

    long long available() const {
        return db_->scalar("SELECT count(*) FROM sandboxes WHERE status = 'available'");
    }
    long long sim_stat(const char* name) const { return sim_->stats().value(name, -1LL); }
    // When `job` last finished a run, as the store records it (0 before its first).
    long long finished(const std::string& job) const {
        return db_->scalar("SELECT coalesce(max(last_finished_at), 0) FROM job_states WHERE job = '" + job +
                           "'");
    }
    // Moves the shared clock by `by` and waits until `job` (due by then) finished a run at it.
    void run_at_next(const std::string& job, seconds by) {
        clock_.advance(by);
        ASSERT_TRUE(wait_until([&] { return finished(job) == clock_.now(); }, seconds(60)))
            << job << " did not run at " << clock_.now();
    }

    TestClock clock_;  // every process of the deployment reads it
    TempDir dir_;
    std::unique_ptr<PgSchema> db_;
    std::unique_ptr<SimProcess> sim_;
    std::vector<std::unique_ptr<BrokerRole>> replicas_;  // stopped before the schema and simulator go
    std::vector<std::unique_ptr<BrokerRole>> workers_;
};

TEST_F(HaWorkersTest, TwoWorkersListTheProviderOncePerSyncInterval) {
    constexpr int kIntervals = 4;
    ASSERT_TRUE(wait_until([&] { return finished("sync") == clock_.now(); }, seconds(60)))
        << "the first sync";
    const long long before = sim_stat("list_calls");
    // Each interval the clock moves, both workers wake, and one of them lists; two workers
    // each syncing on their own would list twice per interval.
    for (int i = 0; i < kIntervals; ++i) {
        ASSERT_NO_FATAL_FAILURE(run_at_next("sync", seconds(kSyncIntervalSec)));
    }
    EXPECT_EQ(sim_stat("list_calls") - before, kIntervals);
    // Both workers are alive: the lease, not a crash, is why only one of them listed.
    for (const auto& worker : workers_) EXPECT_EQ(::kill(worker->pid(), 0), 0);
}

TEST_F(HaWorkersTest, FiftyReturnedSandboxesAreDeletedExactlyOnceAtTheProvider) {
    constexpr int kReturned = 50;
    std::vector<std::string> returned(kReturned);
    std::vector<std::string> failures(kReturned);
    run_together(kReturned, [&](int i) {
        try {
            // Allocated through one replica, returned through the other.
            const std::string participant = unique_participant("returning");
            auto first = replicas_[static_cast<std::size_t>(i % 2)]->client();
            const auto granted = allocate(first, participant);
            if (granted.status != 201)
                throw std::runtime_error("allocate answered " + std::to_string(granted.status));
            const auto sandbox_id = granted.json["sandbox_id"].get<std::string>();
            auto second = replicas_[static_cast<std::size_t>((i + 1) % 2)]->client();
            const auto marked = mark_for_deletion(second, sandbox_id, participant);
            if (marked.status != 200)
                throw std::runtime_error("mark answered " + std::to_string(marked.status));
            returned[static_cast<std::size_t>(i)] = sandbox_id;
        } catch (const std::exception& e) {
            failures[static_cast<std::size_t>(i)] = e.what();
        }
    });
    for (const auto& failure : failures) ASSERT_EQ(failure, "");

    const auto deleted = [&] {
        return db_->scalar("SELECT count(*) FROM sandboxes WHERE status = 'deleted'");
    };
    // Cleanup runs each second of the clock (a run takes every returned sandbox, batch by batch).
    for (int interval = 0; interval < 10 && deleted() < kReturned; ++interval) {
        ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));
    }
    ASSERT_EQ(deleted(), kReturned);
    // A second deleter would show up within the next two cleanup runs.
    ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));
    ASSERT_NO_FATAL_FAILURE(run_at_next("cleanup", seconds(1)));

    const auto stats = sim_->stats();
    EXPECT_EQ(stats.value("delete_calls", -1LL), kReturned) << stats.dump();
    EXPECT_EQ(stats.value("deleted", -1LL), kReturned) << stats.dump();
    EXPECT_EQ(stats.value("delete_not_found", -1LL), 0) << stats.dump();
    EXPECT_EQ(deleted(), kReturned);
    for (const auto& id : returned) {
        EXPECT_EQ(db_->scalar("SELECT count(*) FROM sandbox_events WHERE sandbox_id = '" + id +
                              "' AND to_status = 'deleted'"),
                  1)
            << id;
    }
}

}  // namespace
}  // namespace broker::e2e
