// Conformance: the job-state rows that decide which worker runs a job this interval — leases,
// pause, run-now, and results — written against the JobStateStore interface only.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store_harness.hpp"

namespace broker::testing {
namespace {

class JobStateConformance : public StoreConformance {
  protected:
    bool start(const std::string& holder, UnixSeconds now, const std::string& job = "sync") {
        return jobs().try_start_job({job, holder, now, kInterval, kLease});
    }
    std::optional<JobState> state(const std::string& job = "sync") {
        for (auto& s : jobs().job_states()) {
            if (s.job == job) return s;
        }
        return std::nullopt;
    }
    static constexpr std::int64_t kInterval = 600;
    static constexpr std::int64_t kLease = 120;
};
BROKER_FOR_EVERY_STORE(JobStateConformance);

TEST_P(JobStateConformance, FirstStartCreatesTheRowAndHoldsTheLease) {
    EXPECT_TRUE(jobs().job_states().empty());
    ASSERT_TRUE(start("w1", kNow));
    auto s = state();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->holder, "w1");
    EXPECT_EQ(s->lease_until, kNow + kLease);
    EXPECT_EQ(s->next_run_at, kNow + kInterval);
    EXPECT_EQ(s->last_started_at, kNow);
    EXPECT_FALSE(s->last_finished_at);
    EXPECT_FALSE(s->paused);

    // Held: nobody else starts it, the holder neither (its run is still going).
    EXPECT_FALSE(start("w2", kNow + 1));
    EXPECT_FALSE(start("w1", kNow + 1));

    ASSERT_TRUE(jobs().finish_job("sync", "w1", kNow + 5, true, R"({"listed":3})"));
    s = state();
    EXPECT_EQ(s->holder, "");
    EXPECT_EQ(s->last_finished_at, kNow + 5);
    EXPECT_EQ(s->last_result, R"({"listed":3})");
    EXPECT_TRUE(s->last_ok);

    // Finished, but not due until the interval has passed.
    EXPECT_FALSE(start("w2", kNow + kInterval - 1));
    EXPECT_TRUE(start("w2", kNow + kInterval));
    EXPECT_EQ(state()->holder, "w2");
}

TEST_P(JobStateConformance, RacingHoldersExactlyOneWinsPerInterval) {
    constexpr int kWorkers = 6;
    constexpr int kIntervals = 5;
    for (int round = 0; round < kIntervals; ++round) {
        const UnixSeconds now = kNow + round * kInterval;
        std::atomic<int> wins{0};
        std::string winner;
        {
            std::vector<std::jthread> threads;
            for (int w = 0; w < kWorkers; ++w) {
                threads.emplace_back([&, w] {
                    // Each worker polls a few times within the same interval.
                    for (int poll = 0; poll < 3; ++poll) {
                        if (start("w" + std::to_string(w), now + poll)) {
                            ++wins;
                            winner = "w" + std::to_string(w);
                        }
                    }
                });
            }
        }
        ASSERT_EQ(wins.load(), 1) << "round " << round;
        ASSERT_TRUE(jobs().finish_job("sync", winner, now + 10, true, "{}"));
    }
}

TEST_P(JobStateConformance, JobsAreIndependent) {
    ASSERT_TRUE(start("w1", kNow, "sync"));
    EXPECT_TRUE(start("w2", kNow, "cleanup"));
    const auto states = jobs().job_states();
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[0].job, "cleanup");  // ordered by name
    EXPECT_EQ(states[0].holder, "w2");
    EXPECT_EQ(states[1].job, "sync");
    EXPECT_EQ(states[1].holder, "w1");
}

TEST_P(JobStateConformance, PausedJobsNeverStart) {
    jobs().set_job_paused("cleanup", true, kNow);
    ASSERT_TRUE(state("cleanup"));
    EXPECT_TRUE(state("cleanup")->paused);
    EXPECT_FALSE(start("w1", kNow, "cleanup"));
    jobs().request_job_run("cleanup", kNow);
    EXPECT_FALSE(start("w1", kNow + 10 * kInterval, "cleanup")) << "a requested run waits for resume too";

    jobs().set_job_paused("cleanup", false, kNow + 1);
    EXPECT_FALSE(state("cleanup")->paused);
    EXPECT_TRUE(start("w1", kNow + 2, "cleanup"));

    // Pausing does not take a running job's lease away, and a paused job does not start
    // again once that run finished.
    jobs().set_job_paused("cleanup", true, kNow + 3);
    EXPECT_EQ(state("cleanup")->holder, "w1");
    EXPECT_TRUE(jobs().finish_job("cleanup", "w1", kNow + 4, true, "{}"));
    EXPECT_FALSE(start("w1", kNow + 10 * kInterval, "cleanup"));
}

TEST_P(JobStateConformance, RequestedRunStartsBeforeItsInterval) {
    ASSERT_TRUE(start("w1", kNow));
    ASSERT_TRUE(jobs().finish_job("sync", "w1", kNow + 1, true, "{}"));
    EXPECT_FALSE(start("w1", kNow + 2));

    jobs().request_job_run("sync", kNow + 2);
    EXPECT_TRUE(state()->run_requested);
    ASSERT_TRUE(start("w2", kNow + 3));
    auto s = state();
    EXPECT_FALSE(s->run_requested);
    EXPECT_EQ(s->next_run_at, kNow + 3 + kInterval);
    ASSERT_TRUE(jobs().finish_job("sync", "w2", kNow + 4, true, "{}"));
    EXPECT_FALSE(start("w1", kNow + 5)) << "one request, one run";

    // A request for a job never run creates its row.
    jobs().request_job_run("auto_expiry", kNow);
    ASSERT_TRUE(state("auto_expiry"));
    EXPECT_TRUE(state("auto_expiry")->run_requested);
}

TEST_P(JobStateConformance, RequestWhileRunningWaitsForTheLease) {
    ASSERT_TRUE(start("w1", kNow));
    jobs().request_job_run("sync", kNow + 1);
    EXPECT_FALSE(start("w2", kNow + 2));
    ASSERT_TRUE(jobs().finish_job("sync", "w1", kNow + 3, true, "{}"));
    EXPECT_TRUE(start("w2", kNow + 4));
}

TEST_P(JobStateConformance, AnExpiredLeaseIsTakenOverAndTheOldHolderCannotFinish) {
    ASSERT_TRUE(start("w1", kNow));
    // w1 hangs past its lease; once the job is due again, w2 takes it.
    EXPECT_FALSE(start("w2", kNow + kLease - 1));
    EXPECT_TRUE(start("w2", kNow + kInterval));
    EXPECT_FALSE(jobs().finish_job("sync", "w1", kNow + kInterval + 1, false, "late"));
    auto s = state();
    EXPECT_EQ(s->holder, "w2");
    EXPECT_FALSE(s->last_finished_at);
    EXPECT_EQ(s->last_result, "");

    EXPECT_TRUE(jobs().finish_job("sync", "w2", kNow + kInterval + 2, false, "provider down"));
    s = state();
    EXPECT_FALSE(s->last_ok);
    EXPECT_EQ(s->last_result, "provider down");
    EXPECT_FALSE(jobs().finish_job("sync", "w2", kNow + kInterval + 3, true, "twice"));
    EXPECT_FALSE(jobs().finish_job("never-ran", "w2", kNow, true, "{}"));
}

TEST_P(JobStateConformance, HeartbeatRenewsTheLeaseOfItsHolderOnly) {
    ASSERT_TRUE(start("w1", kNow));
    EXPECT_FALSE(jobs().renew_job_lease("sync", "w2", kNow + 10, kNow + 10 + kLease, "{}"));
    EXPECT_FALSE(jobs().renew_job_lease("sync", "", kNow + 10, kNow + 10 + kLease, "{}"));
    ASSERT_TRUE(jobs().renew_job_lease("sync", "w1", kNow + 100, kNow + 100 + kLease, R"({"deleted":4})"));
    auto s = state();
    EXPECT_EQ(s->lease_until, kNow + 100 + kLease);
    EXPECT_EQ(s->progress, R"({"deleted":4})");
    // Far past the lease it started with, but renewed: nobody takes it, even once due.
    ASSERT_TRUE(jobs().renew_job_lease("sync", "w1", kNow + 500, kNow + 500 + kLease, "{}"));
    EXPECT_FALSE(start("w2", kNow + kInterval));
    ASSERT_TRUE(jobs().finish_job("sync", "w1", kNow + kInterval + 1, true, "{}"));
    EXPECT_EQ(state()->progress, "") << "progress belongs to a run in progress";
    EXPECT_FALSE(jobs().renew_job_lease("sync", "w1", kNow + kInterval + 2, kNow + 999999, "{}"))
        << "a finished run has no lease to renew";
}

TEST_P(JobStateConformance, AnAbandonedRunIsDueAgainAsSoonAsItsLeaseRunsOut) {
    ASSERT_TRUE(start("killed", kNow));
    EXPECT_FALSE(start("w2", kNow + kLease - 1));
    // Long before the interval: the killed worker's run is done again, not skipped to the next.
    ASSERT_TRUE(start("w2", kNow + kLease));
    EXPECT_FALSE(jobs().renew_job_lease("sync", "killed", kNow + kLease + 1, kNow + 9999, "{}"));
    ASSERT_TRUE(jobs().finish_job("sync", "w2", kNow + kLease + 2, true, "{}"));
    EXPECT_FALSE(start("w3", kNow + kLease + 3)) << "a finished run is not due before its interval";
}

TEST_P(JobStateConformance, RequestedRunsAreAdoptedByTheNextRunAndGetItsResult) {
    const std::int64_t first = jobs().request_job_run("sync", kNow);
    const std::int64_t second = jobs().request_job_run("sync", kNow + 1);
    const std::int64_t other = jobs().request_job_run("cleanup", kNow + 1);
    EXPECT_GT(second, first);
    EXPECT_NE(other, second);
    auto run = jobs().job_run("sync", first);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->job, "sync");
    EXPECT_EQ(run->status, JobRunStatus::queued);
    EXPECT_EQ(run->requested_at, kNow);
    EXPECT_FALSE(run->started_at);
    EXPECT_EQ(run->holder, "");
    EXPECT_FALSE(jobs().job_run("cleanup", first)) << "a run belongs to its job";
    EXPECT_FALSE(jobs().job_run("sync", other));

    // One run serves both requests.
    ASSERT_TRUE(start("w1", kNow + 2));
    run = jobs().job_run("sync", second);
    EXPECT_EQ(run->status, JobRunStatus::running);
    EXPECT_EQ(run->holder, "w1");
    EXPECT_EQ(run->started_at, kNow + 2);
    ASSERT_TRUE(jobs().renew_job_lease("sync", "w1", kNow + 3, kNow + 3 + kLease, R"({"listed":7})"));
    EXPECT_EQ(jobs().job_run("sync", first)->progress, R"({"listed":7})");

    // A request while it runs waits for the next run, which starts right after.
    const std::int64_t late = jobs().request_job_run("sync", kNow + 4);
    ASSERT_TRUE(jobs().finish_job("sync", "w1", kNow + 5, false, R"({"ok":false})"));
    for (const auto id : {first, second}) {
        run = jobs().job_run("sync", id);
        EXPECT_EQ(run->status, JobRunStatus::finished) << id;
        EXPECT_EQ(run->finished_at, kNow + 5);
        EXPECT_FALSE(run->ok);
        EXPECT_EQ(run->result, R"({"ok":false})");
        EXPECT_EQ(run->progress, "");
    }
    EXPECT_EQ(jobs().job_run("sync", late)->status, JobRunStatus::queued);
    EXPECT_TRUE(state()->run_requested);
    ASSERT_TRUE(start("w2", kNow + 6));
    EXPECT_EQ(jobs().job_run("sync", late)->holder, "w2");
    EXPECT_EQ(jobs().job_run("cleanup", other)->status, JobRunStatus::queued) << "jobs are independent";
}

TEST_P(JobStateConformance, ARunOfAKilledHolderIsAdoptedByTheNextOne) {
    const std::int64_t id = jobs().request_job_run("sync", kNow);
    ASSERT_TRUE(start("killed", kNow + 1));
    ASSERT_TRUE(start("w2", kNow + 1 + kLease));
    EXPECT_EQ(jobs().job_run("sync", id)->holder, "w2");
    ASSERT_TRUE(jobs().finish_job("sync", "w2", kNow + 2 + kLease, true, "{}"));
    EXPECT_EQ(jobs().job_run("sync", id)->status, JobRunStatus::finished);
    EXPECT_FALSE(state()->run_requested);
}

TEST_P(JobStateConformance, RunHistoryIsBoundedPerJob) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < kJobRunHistory + 5; ++i) {
        ids.push_back(jobs().request_job_run("sync", kNow + i));
        ASSERT_TRUE(start("w", kNow + i));
        ASSERT_TRUE(jobs().finish_job("sync", "w", kNow + i, true, "{}"));
    }
    const std::int64_t cleanup = jobs().request_job_run("cleanup", kNow);
    int kept = 0;
    for (const auto id : ids) kept += jobs().job_run("sync", id).has_value();
    EXPECT_EQ(kept, kJobRunHistory);
    EXPECT_FALSE(jobs().job_run("sync", ids.front())) << "the oldest are forgotten";
    EXPECT_TRUE(jobs().job_run("sync", ids.back()));
    EXPECT_TRUE(jobs().job_run("cleanup", cleanup)) << "another job's runs are not counted";
}

TEST_P(JobStateConformance, StateSurvivesAReopen) {
    ASSERT_TRUE(start("w1", kNow, "cleanup"));
    jobs().set_job_paused("sync", true, kNow);
    harness().reopen();
    const auto states = jobs().job_states();
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[0].holder, "w1");
    EXPECT_TRUE(states[1].paused);
    EXPECT_FALSE(start("w2", kNow + 1, "cleanup"));
}

}  // namespace
}  // namespace broker::testing
