// The Worker and run-now against real SQLite stores: two workers on one store file run a job
// once per interval, pause stops runs for every worker, run-now forces one on its own thread,
// the heartbeat keeps a long run's lease and writes its progress, a run that lost its lease
// stops after the item in hand, stop() is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

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

TEST_F(JobsWorkerTest, RecordsTheTimeOfEachJobsLastSuccess) {
    provider_.add_accounts(2);
    SyncJob sync(provider_, *store_, clock_, &metrics_);
    WorkerOptions o = options("worker-a");
    o.metrics = &metrics_;
    Worker worker(*store_, clock_, {{&sync, 600s}}, o);
    const auto last_success = [&] { return metrics_.job_last_success.with_labels({"sync"}).value(); };
    EXPECT_EQ(last_success(), 0);  // exported from the start: never succeeded here yet

    const auto first = clock_.now();
    EXPECT_EQ(worker.run_due_jobs(), 1);
    EXPECT_EQ(last_success(), static_cast<double>(first));

    // A failed run leaves the last success where it was.
    clock_.advance(600s);
    provider_.fail_list(true);
    EXPECT_EQ(worker.run_due_jobs(), 1);
    EXPECT_EQ(metrics_.sync_total.with_labels({"error"}).value(), 1u);
    EXPECT_EQ(last_success(), static_cast<double>(first));

    clock_.advance(600s);
    provider_.fail_list(false);
    EXPECT_EQ(worker.run_due_jobs(), 1);
    EXPECT_EQ(last_success(), static_cast<double>(clock_.now()));
    EXPECT_NE(registry_.render().find("broker_job_last_success_timestamp_seconds{broker_job=\"sync\"} " +
                                      std::to_string(clock_.now())),
              std::string::npos);
}

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
        if (interval < 3) clock_.advance(1s);  // not after the last: a fourth run would race stop()
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

TEST_F(JobsWorkerTest, RunNowStartsOnAThreadOfItsOwnAndLeavesItsResultInTheRun) {
    provider_.add_accounts(2);
    SyncJob sync(provider_, *store_, clock_);
    Worker w(*store_, clock_, {{&sync, 600s}}, options("w"));  // its poll thread is not started

    const auto id = store_->request_job_run("sync", clock_.now());
    ASSERT_TRUE(w.start_run_now("sync"));
    ASSERT_TRUE(eventually([&] {
        const auto run = store_->job_run("sync", id);
        return run && run->status == JobRunStatus::finished;
    }));
    const auto run = store_->job_run("sync", id);
    EXPECT_EQ(run->holder, "w-admin") << "its own holder name: the job list tells it from a scheduled run";
    EXPECT_TRUE(run->ok);
    EXPECT_EQ(nlohmann::json::parse(run->result)["counts"]["inserted"], 2);
    EXPECT_FALSE(w.start_run_now("cleanup")) << "not a job of this worker";

    // Running elsewhere (worker-x took the lease for a first request): a request made now stays
    // queued through that run, and the next run after it serves it.
    const auto first = store_->request_job_run("sync", clock_.now());
    ASSERT_TRUE(store_->try_start_job({"sync", "worker-x", clock_.now(), 600, 60}));
    const auto queued = store_->request_job_run("sync", clock_.now());
    ASSERT_TRUE(w.start_run_now("sync"));
    ASSERT_TRUE(store_->finish_job("sync", "worker-x", clock_.now(), true, "{}"));
    EXPECT_EQ(store_->job_run("sync", first)->holder, "worker-x");
    // The run-now thread may still hold the job's slot for its refused attempt, and a pass
    // that finds the slot busy leaves the request for the next pass: passes until it is served.
    ASSERT_TRUE(eventually([&] {
        w.run_due_jobs();
        return store_->job_run("sync", queued)->status == JobRunStatus::finished;
    }));
    EXPECT_EQ(provider_.list_calls(), 2);
}

// A job of `items` items, each let through by the test: what a long cleanup is to the worker.
// It asks keep_going() before each item and reports its progress after each.
class GatedJob final : public Job {
  public:
    explicit GatedJob(int items) : items_(items) {}
    std::string_view name() const override { return "gated"; }
    JobRunResult run(RunControl& control) override {
        control_ = &control;
        JobRunResult r;
        r.job = "gated";
        r.add("done", 0);
        for (int i = 0; i < items_; ++i) {
            if (!control.keep_going()) {
                r.stopped_early = true;
                r.stop_reason = "job lease lost";
                break;
            }
            started = i + 1;
            std::unique_lock lock(mutex_);
            gate_.wait(lock, [&] { return allowed_ > i; });
            lock.unlock();
            r.add("done");
            control.report_progress(r.counts);
        }
        return r;
    }
    void on_heartbeat() override { ++heartbeats; }
    void allow(int items) {
        {
            std::lock_guard lock(mutex_);
            allowed_ = items;
        }
        gate_.notify_all();
    }
    bool lease_lost() const {
        RunControl* control = control_.load();
        return control && !control->keep_going();
    }

    std::atomic<int> started{0};
    std::atomic<int> heartbeats{0};

  private:
    const int items_;
    std::atomic<RunControl*> control_{nullptr};
    std::mutex mutex_;
    std::condition_variable gate_;
    int allowed_ = 0;
};

// A job that only counts its runs.
class TickJob final : public Job {
  public:
    std::string_view name() const override { return "tick"; }
    JobRunResult run(RunControl&) override {
        ++runs;
        JobRunResult r;
        r.job = "tick";
        return r;
    }
    std::atomic<int> runs{0};
};

TEST_F(JobsWorkerTest, ALongRunOfOneJobHoldsBackNoOtherJob) {
    GatedJob slow(1);
    TickJob tick;
    Worker w(*store_, clock_, {{&slow, 600s}, {&tick, 10s}}, options("w"));
    w.start();
    ASSERT_TRUE(eventually([&] { return slow.started == 1 && tick.runs == 1; }));
    // While the slow run goes on, the other job runs at each of its intervals.
    for (int i = 2; i <= 4; ++i) {
        clock_.advance(10s);
        w.wake();
        ASSERT_TRUE(eventually([&] { return tick.runs == i; })) << "run " << i << " held back";
    }
    EXPECT_EQ(slow.started.load(), 1);
    slow.allow(1);
    w.stop();
    EXPECT_EQ(w.runs(), 5u);
}

TEST_F(JobsWorkerTest, HeartbeatKeepsTheLeaseAndWritesProgressWhileARunGoesOn) {
    GatedJob job(3);
    auto o = options("w");
    o.job_lease = 30s;
    o.heartbeat = 2ms;
    Worker w(*store_, clock_, {{&job, 600s}}, o);
    const auto run_id = store_->request_job_run("gated", clock_.now());
    std::thread runner([&] { w.run_due_jobs(); });
    ASSERT_TRUE(eventually([&] { return job.started == 1; }));
    job.allow(1);
    ASSERT_TRUE(eventually([&] { return job.started == 2; }));

    // Far past the 30 s the run's lease was taken for: the heartbeat has kept it.
    clock_.advance(100s);
    ASSERT_TRUE(eventually([&] { return state("gated")->lease_until == clock_.now() + 30; }));
    EXPECT_FALSE(store_->try_start_job({"gated", "other", clock_.now(), 600, 30})) << "still held";
    EXPECT_EQ(state("gated")->holder, "w");
    EXPECT_GT(job.heartbeats.load(), 0) << "the job renews what it holds on the same beat";
    ASSERT_TRUE(eventually([&] { return state("gated")->progress == R"({"done":1})"; }));
    const auto running = store_->job_run("gated", run_id);
    EXPECT_EQ(running->status, JobRunStatus::running);
    EXPECT_EQ(running->progress, R"({"done":1})");

    job.allow(3);
    runner.join();
    const auto s = state("gated");
    EXPECT_EQ(s->holder, "");
    EXPECT_EQ(s->progress, "");
    EXPECT_EQ(nlohmann::json::parse(s->last_result)["counts"]["done"], 3);
    const auto finished = store_->job_run("gated", run_id);
    EXPECT_EQ(finished->status, JobRunStatus::finished);
    EXPECT_EQ(nlohmann::json::parse(finished->result)["counts"]["done"], 3);
}

TEST_F(JobsWorkerTest, ARunThatLostItsLeaseStopsAfterTheItemInHand) {
    GatedJob job(5);
    auto o = options("w");
    o.job_lease = 30s;
    o.heartbeat = 2ms;
    Worker w(*store_, clock_, {{&job, 600s}}, o);
    std::thread runner([&] { w.run_due_jobs(); });
    ASSERT_TRUE(eventually([&] { return job.started == 1; }));

    // Another worker has taken the job over (to the store, a takeover after the lease ran
    // out looks the same: the row names another holder).
    ASSERT_TRUE(store_->finish_job("gated", "w", clock_.now(), false, "taken over"));
    store_->request_job_run("gated", clock_.now());
    ASSERT_TRUE(store_->try_start_job({"gated", "thief", clock_.now(), 600, 30}));
    ASSERT_TRUE(eventually([&] { return job.lease_lost(); }));

    job.allow(5);
    runner.join();
    EXPECT_EQ(job.started.load(), 1) << "the item in hand was finished, no other started";
    const auto s = state("gated");
    EXPECT_EQ(s->holder, "thief");
    EXPECT_EQ(s->last_result, "taken over") << "the lost run's result is not recorded";
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
    // The claims on the sandboxes not attempted were given back at once.
    EXPECT_EQ(store_->claim_for_deletion({"w2", clock_.now(), clock_.now() + 30, 10}).size(), 3u);
}

TEST(JobsWorkerId, UniquePerWorkerAndNamesTheProcess) {
    const auto a = make_worker_id();
    const auto b = make_worker_id();
    EXPECT_NE(a, b);
    EXPECT_NE(a.find("-" + std::to_string(getpid()) + "-"), std::string::npos) << a;
}

}  // namespace
}  // namespace broker::testing
