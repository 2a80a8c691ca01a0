// The Worker and run-now against real SQLite stores: two workers on one store file run a job
// once per interval, pause stops runs for every worker, run-now forces one, stop() is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "jobs/cleanup_job.hpp"
#include "jobs/sync_job.hpp"
#include "jobs/worker.hpp"
#include "unit/support/jobs_fixture.hpp"

namespace broker::testing {
namespace {

using namespace std::chrono_literals;

class JobsWorkerTest : public JobsTest {
  protected:
    static WorkerOptions options(const std::string& id) {
        WorkerOptions o;
        o.worker_id = id;
        o.job_lease = 60s;
        o.poll = 5ms;
        return o;
    }
    // Waits until every worker made `n` more passes over its jobs: long enough for any run
    // that was going to happen to have happened.
    static void let_poll(std::initializer_list<const Worker*> workers, std::uint64_t n = 5) {
        std::vector<std::uint64_t> start;
        for (const auto* w : workers) start.push_back(w->passes());
        std::size_t i = 0;
        for (const auto* w : workers) {
            const auto from = start[i++];
            ASSERT_TRUE(eventually([&] { return w->passes() >= from + n; }));
        }
    }
    std::optional<JobState> state(const std::string& job) {
        for (auto& s : store_->job_states()) {
            if (s.job == job) return s;
        }
        return std::nullopt;
    }
};

TEST_F(JobsWorkerTest, TwoWorkersOnOneStoreFileRunSyncOncePerInterval) {
    provider_.add_accounts(3);
    // Two workers with their own ids share the store: its lease row decides which runs, as
    // between processes on PostgreSQL (a SQLite file admits one process, see store_file).
    SyncJob sync_a(provider_, *store_, clock_);
    SyncJob sync_b(provider_, *store_, clock_);
    Worker a(*store_, clock_, {{&sync_a, 600s}}, options("worker-a"));
    Worker b(*store_, clock_, {{&sync_b, 600s}}, options("worker-b"));
    a.start();
    b.start();

    for (int interval = 1; interval <= 3; ++interval) {
        ASSERT_TRUE(eventually([&] { return provider_.list_calls() == interval; })) << interval;
        let_poll({&a, &b});
        EXPECT_EQ(provider_.list_calls(), interval) << "ran twice in interval " << interval;
        clock_.advance(599s);
        let_poll({&a, &b});
        EXPECT_EQ(provider_.list_calls(), interval) << "ran before its interval was over";
        clock_.advance(1s);
    }
    a.stop();
    b.stop();
    EXPECT_EQ(a.runs() + b.runs(), 3u);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 3);

    const auto s = state("sync");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->holder, "");
    EXPECT_TRUE(s->last_ok);
    const auto last = nlohmann::json::parse(s->last_result);
    EXPECT_EQ(last["job"], "sync");
    EXPECT_EQ(last["counts"]["listed"], 3);
}

TEST_F(JobsWorkerTest, PauseStopsRunsAndResumeRestartsThem) {
    provider_.add_accounts(1);
    SyncJob sync(provider_, *store_, clock_);
    Worker w(*store_, clock_, {{&sync, 600s}}, options("w"));
    w.start();
    ASSERT_TRUE(eventually([&] { return provider_.list_calls() == 1; }));

    // Paused through the store, as the admin API of any replica would.
    store_->set_job_paused("sync", true, clock_.now());
    clock_.advance(3600s);
    w.wake();
    let_poll({&w});
    EXPECT_EQ(provider_.list_calls(), 1);

    store_->set_job_paused("sync", false, clock_.now());
    w.wake();
    EXPECT_TRUE(eventually([&] { return provider_.list_calls() == 2; }));
}

TEST_F(JobsWorkerTest, RunNowRequestForcesARunBeforeTheInterval) {
    provider_.add_accounts(1);
    SyncJob sync(provider_, *store_, clock_);
    Worker w(*store_, clock_, {{&sync, 600s}}, options("w"));
    w.start();
    ASSERT_TRUE(eventually([&] { return provider_.list_calls() == 1; }));
    let_poll({&w});
    EXPECT_EQ(provider_.list_calls(), 1);

    store_->request_job_run("sync", clock_.now());
    w.wake();
    EXPECT_TRUE(eventually([&] { return provider_.list_calls() == 2; }));
    let_poll({&w});
    EXPECT_EQ(provider_.list_calls(), 2) << "one request, one run";
}

TEST_F(JobsWorkerTest, RunJobNowReportsRanBusyOrPaused) {
    provider_.add_accounts(2);
    SyncJob sync(provider_, *store_, clock_);

    auto r = run_job_now(*store_, clock_, sync, "admin-api", 600s, 60s);
    ASSERT_EQ(r.outcome, RunNowOutcome::ran);
    ASSERT_TRUE(r.result);
    EXPECT_EQ(r.result->count("inserted"), 2);
    // The interval does not stand in the way of an operator, twice in a row.
    r = run_job_now(*store_, clock_, sync, "admin-api", 600s, 60s);
    EXPECT_EQ(r.outcome, RunNowOutcome::ran);
    EXPECT_EQ(provider_.list_calls(), 2);
    EXPECT_EQ(nlohmann::json::parse(state("sync")->last_result)["counts"]["refreshed"], 2);

    // Running elsewhere: busy, and the request stays for after that run.
    ASSERT_TRUE(store_->try_start_job({"cleanup", "worker-x", clock_.now(), 300, 60}));
    CleanupJob cleanup(provider_, nullptr, *store_, clock_, {}, "admin-api");
    EXPECT_EQ(run_job_now(*store_, clock_, cleanup, "admin-api", 300s, 60s).outcome, RunNowOutcome::busy);
    EXPECT_TRUE(state("cleanup")->run_requested);

    store_->set_job_paused("sync", true, clock_.now());
    r = run_job_now(*store_, clock_, sync, "admin-api", 600s, 60s);
    EXPECT_EQ(r.outcome, RunNowOutcome::paused);
    EXPECT_FALSE(state("sync")->run_requested) << "a refused request must not fire on resume";
    EXPECT_EQ(provider_.list_calls(), 2);
}

TEST_F(JobsWorkerTest, StopFinishesTheItemInHandAndReturnsPromptly) {
    fill_pool(4);
    for (int i = 0; i < 4; ++i) give_back("p" + std::to_string(i));
    StoppableSleep shutdown;
    CleanupSettings settings;
    settings.per_sandbox_delay = 30s;  // real waits: stop() must cut them short
    settings.batch_delay = 30s;
    CleanupJob cleanup(provider_, nullptr, *store_, clock_, settings, "w", shutdown.as_function());
    auto o = options("w");
    o.shutdown = &shutdown;
    Worker w(*store_, clock_, {{&cleanup, 300s}}, o);
    w.start();
    ASSERT_TRUE(eventually([&] { return provider_.delete_calls() == 1; }));

    const auto before = std::chrono::steady_clock::now();
    w.stop();
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_LT(took, 2s);
    EXPECT_EQ(provider_.delete_calls(), 1);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::deleted], 1) << "the item in hand was finished";
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::pending_deletion], 3);
    const auto s = state("cleanup");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->holder, "") << "the run was finished and its lease released";
    EXPECT_TRUE(nlohmann::json::parse(s->last_result)["stopped_early"].get<bool>());
}

TEST(JobsWorkerId, UniquePerWorkerAndNamesTheProcess) {
    const auto a = make_worker_id();
    const auto b = make_worker_id();
    EXPECT_NE(a, b);
    EXPECT_NE(a.find("-" + std::to_string(getpid()) + "-"), std::string::npos) << a;
}

}  // namespace
}  // namespace broker::testing
