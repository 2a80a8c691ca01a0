// The cleanup job against a real SQLite store and a fake provider: deletion exactly once,
// retries with backoff -> deletion_failed -> slow retry -> deleted, the NIOSXaaS step never
// blocking, an open circuit ending the run (its claims given back), crash safety, delays that
// are stoppable waits, claims renewed by the heartbeat, and idle runs logged at debug.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <sstream>
#include <string>

#include "jobs/cleanup_job.hpp"
#include "unit/support/jobs_fixture.hpp"
#include "unit/support/log_capture.hpp"

namespace broker::testing {
namespace {

class JobsCleanupTest : public JobsTest {
  protected:
    CleanupSettings settings() const {
        CleanupSettings s;
        s.batch_size = 10;
        s.batch_delay = std::chrono::milliseconds(0);
        s.per_sandbox_delay = std::chrono::milliseconds(0);
        s.max_attempts = 3;
        s.retry_base = std::chrono::seconds(60);
        s.failed_retry = std::chrono::seconds(3600);
        s.claim_lease = std::chrono::seconds(300);
        s.max_concurrency = 1;  // one after another on the run's thread; concurrency has tests of its own
        return s;
    }
    // Waits move the manual clock instead of sleeping; `stop_after` waits it answers "stop".
    SleepFunction clock_sleep(int stop_after = 1'000'000) {
        return [this, stop_after](std::chrono::milliseconds d) {
            clock_.advance_ms(d);
            waited_ms_ += d.count();
            return ++waits_ <= stop_after;
        };
    }
    CleanupJob job(ServiceCleaner* cleaner = nullptr, std::optional<CleanupSettings> s = std::nullopt,
                   const std::string& worker = "w1", SleepFunction sleep = {}) {
        return CleanupJob(provider_, cleaner, *store_, clock_, s.value_or(settings()), worker,
                          sleep ? std::move(sleep) : clock_sleep(), &metrics_);
    }

    std::int64_t waited_ms_ = 0;
    int waits_ = 0;
};

TEST_F(JobsCleanupTest, DeletesReturnedSandboxesExactlyOnce) {
    fill_pool(5);
    const auto a = give_back("p1");
    const auto b = give_back("p2");
    allocate("p3");  // held: never touched
    auto cleanup = job();
    const auto r = cleanup.run_once();
    ASSERT_TRUE(r.ok) << r.to_json().dump();
    EXPECT_EQ(r.count("claimed"), 2);
    EXPECT_EQ(r.count("deleted"), 2);
    EXPECT_EQ(r.count("failed"), 0);
    EXPECT_EQ(status(a.sandbox_id), SandboxStatus::deleted);
    EXPECT_EQ(status(b.sandbox_id), SandboxStatus::deleted);
    EXPECT_EQ(provider_.removals(), (std::map<std::string, int>{{a.external_id, 1}, {b.external_id, 1}}));
    EXPECT_EQ(provider_.active(), 3u);
    EXPECT_EQ(store_->count_by_status().total(), 3);

    const auto again = cleanup.run_once();
    EXPECT_EQ(again.count("claimed"), 0);
    EXPECT_EQ(provider_.delete_calls(), 2);

    const auto events = store_->history(a.sandbox_id);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().to, SandboxStatus::deleted);
    EXPECT_EQ(events.back().actor, "cleanup");
    EXPECT_EQ(metrics_.cleanup_deleted.value(), 2u);
    EXPECT_EQ(metrics_.cleanup_total.with_labels({"success"}).value(), 2u);
}

TEST_F(JobsCleanupTest, RetriesWithBackoffThenFailsThenRetriesSlowlyThenDeletes) {
    fill_pool(2);
    const auto s = give_back("p1");
    provider_.fail_deletes_of(s.external_id, true);
    auto cleanup = job();

    // Attempt 1 fails: retried after 60 s, not before.
    auto r = cleanup.run_once();
    EXPECT_EQ(r.count("failed"), 1);
    EXPECT_TRUE(r.ok) << "a failed sandbox is the job working, not the job failing";
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("HTTP 500"), std::string::npos);
    EXPECT_EQ(status(s.sandbox_id), SandboxStatus::pending_deletion);
    EXPECT_EQ(store_->get(s.sandbox_id)->deletion_retry_count, 1);
    clock_.advance(std::chrono::seconds(59));
    EXPECT_EQ(cleanup.run_once().count("claimed"), 0);

    // Attempt 2, a minute later, fails: the next waits twice as long.
    clock_.advance(std::chrono::seconds(1));
    EXPECT_EQ(cleanup.run_once().count("failed"), 1);
    clock_.advance(std::chrono::seconds(119));
    EXPECT_EQ(cleanup.run_once().count("claimed"), 0);
    clock_.advance(std::chrono::seconds(1));

    // Attempt 3 reaches the maximum: deletion_failed, retried on the slow pace.
    r = cleanup.run_once();
    EXPECT_EQ(r.count("now_deletion_failed"), 1);
    EXPECT_EQ(status(s.sandbox_id), SandboxStatus::deletion_failed);
    clock_.advance(std::chrono::seconds(3599));
    EXPECT_EQ(cleanup.run_once().count("claimed"), 0);
    clock_.advance(std::chrono::seconds(1));
    r = cleanup.run_once();
    EXPECT_EQ(r.count("failed"), 1);
    EXPECT_EQ(status(s.sandbox_id), SandboxStatus::deletion_failed);
    EXPECT_EQ(store_->get(s.sandbox_id)->deletion_retry_count, 4);

    // The provider recovers: the next slow retry deletes it.
    provider_.fail_deletes_of(s.external_id, false);
    clock_.advance(std::chrono::seconds(3600));
    r = cleanup.run_once();
    EXPECT_EQ(r.count("deleted"), 1);
    EXPECT_EQ(status(s.sandbox_id), SandboxStatus::deleted);
    EXPECT_EQ(provider_.delete_calls(), 5);
    EXPECT_EQ(provider_.removals().at(s.external_id), 1);
    EXPECT_EQ(metrics_.cleanup_failed.value(), 4u);
}

TEST_F(JobsCleanupTest, RetryDelayDoublesCapsAndHonoursRetryAfter) {
    auto s = settings();
    s.max_attempts = 5;
    s.retry_base = std::chrono::seconds(60);
    s.failed_retry = std::chrono::seconds(300);
    using std::chrono::seconds;
    EXPECT_EQ(deletion_retry_delay(s, 1), seconds(60));
    EXPECT_EQ(deletion_retry_delay(s, 2), seconds(120));
    EXPECT_EQ(deletion_retry_delay(s, 3), seconds(240));
    EXPECT_EQ(deletion_retry_delay(s, 4), seconds(300)) << "capped at the slow pace";
    EXPECT_EQ(deletion_retry_delay(s, 5), seconds(300));
    EXPECT_EQ(deletion_retry_delay(s, 500), seconds(300));
    EXPECT_EQ(deletion_retry_delay(s, 1, seconds(90)), seconds(90));
    EXPECT_EQ(deletion_retry_delay(s, 1, seconds(10)), seconds(60));
}

TEST_F(JobsCleanupTest, NiosxaasFailureIsRecordedAndDoesNotBlock) {
    fill_pool(3);
    const auto a = give_back("p1");
    const auto b = give_back("p2");
    FakeCleaner failing(CleanupOutcome::failed);
    auto cleanup = job(&failing);
    const auto r = cleanup.run_once();
    EXPECT_EQ(failing.calls(), (std::vector<std::string>{a.external_id, b.external_id}))
        << "clean-up runs first";
    EXPECT_EQ(r.count("niosxaas_failed"), 2);
    EXPECT_EQ(r.count("deleted"), 2);
    EXPECT_EQ(status(a.sandbox_id), SandboxStatus::deleted);
    ASSERT_EQ(r.errors.size(), 2u);
    EXPECT_NE(r.errors[0].find("NIOSXaaS"), std::string::npos);
    EXPECT_EQ(metrics_.niosxaas_cleanup_total.with_labels({"failure"}).value(), 2u);

    const auto c = give_back("p3");
    FakeCleaner cleaning(CleanupOutcome::cleaned, 3);
    auto second = job(&cleaning);
    const auto r2 = second.run_once();
    EXPECT_EQ(r2.count("niosxaas_cleaned"), 1);
    EXPECT_EQ(r2.count("niosxaas_services"), 3);
    EXPECT_EQ(status(c.sandbox_id), SandboxStatus::deleted);
    EXPECT_EQ(metrics_.niosxaas_services_deleted.value(), 3u);
}

TEST_F(JobsCleanupTest, OpenCircuitStopsTheRunWithoutCountingAttempts) {
    fill_pool(4);
    std::vector<Sandbox> back;
    for (int i = 0; i < 3; ++i) back.push_back(give_back("p" + std::to_string(i)));
    provider_.circuit_open(true);
    auto cleanup = job();
    auto r = cleanup.run_once();
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.stopped_early);
    EXPECT_EQ(r.stop_reason, "provider circuit open");
    EXPECT_EQ(r.count("left_claimed"), 3);
    EXPECT_EQ(r.count("failed"), 0);
    EXPECT_EQ(provider_.delete_calls(), 1) << "the rest of the batch was not even tried";
    for (const auto& s : back) {
        EXPECT_EQ(status(s.sandbox_id), SandboxStatus::pending_deletion);
        EXPECT_EQ(store_->get(s.sandbox_id)->deletion_retry_count, 0);
    }
    EXPECT_EQ(metrics_.cleanup_total.with_labels({"error"}).value(), 1u);

    // The claims were given back at once: as soon as the provider is back, everything goes,
    // without waiting for the claim lease.
    provider_.circuit_open(false);
    r = cleanup.run_once();
    EXPECT_EQ(r.count("deleted"), 3);
}

TEST_F(JobsCleanupTest, ADeadWorkersClaimsExpireAndAnotherFinishesWithA404CountedAsDone) {
    fill_pool(4);
    const auto a = give_back("p1");
    const auto b = give_back("p2");
    // The dead worker claimed both, deleted `a` at the provider, and was killed before
    // recording it.
    const auto claimed = store_->claim_for_deletion({"dead-worker", clock_.now(), clock_.now() + 300, 10});
    ASSERT_EQ(claimed.size(), 2u);
    provider_.delete_behind_our_back(a.external_id);

    auto survivor = job(nullptr, std::nullopt, "w2");
    EXPECT_EQ(survivor.run_once().count("claimed"), 0) << "the dead worker's lease is still live";
    clock_.advance(std::chrono::seconds(300));
    const auto r = survivor.run_once();
    EXPECT_EQ(r.count("claimed"), 2);
    EXPECT_EQ(r.count("already_gone"), 1);
    EXPECT_EQ(r.count("deleted"), 1);
    EXPECT_EQ(status(a.sandbox_id), SandboxStatus::deleted);
    EXPECT_EQ(status(b.sandbox_id), SandboxStatus::deleted);
    // Each account was removed at the provider exactly once.
    EXPECT_EQ(provider_.removals(), (std::map<std::string, int>{{a.external_id, 1}, {b.external_id, 1}}));

    // The dead worker, back from the grave, can no longer record anything against them.
    EXPECT_FALSE(store_->record_deletion_failure(
        {b.sandbox_id, "dead-worker", clock_.now(), clock_.now() + 60, 3, "late"}));
}

TEST_F(JobsCleanupTest, DelaysBetweenSandboxesAndBatchesAreWaited) {
    fill_pool(5);
    for (int i = 0; i < 5; ++i) give_back("p" + std::to_string(i));
    auto s = settings();
    s.batch_size = 2;
    s.per_sandbox_delay = std::chrono::milliseconds(500);
    s.batch_delay = std::chrono::milliseconds(2000);
    auto cleanup = job(nullptr, s, "w1", clock_sleep());
    const auto r = cleanup.run_once();
    EXPECT_EQ(r.count("deleted"), 5);
    // Batches 2 + 2 + 1: one wait inside each full batch, one before each later batch (the
    // first wait of a run is a zero "may I go on?").
    EXPECT_EQ(waited_ms_, 2 * 500 + 2 * 2000);
}

TEST_F(JobsCleanupTest, StopEndsTheRunAfterTheItemInHand) {
    fill_pool(4);
    std::vector<Sandbox> back;
    for (int i = 0; i < 4; ++i) back.push_back(give_back("p" + std::to_string(i)));
    auto s = settings();
    s.per_sandbox_delay = std::chrono::milliseconds(500);
    // Waits 1 (the zero one before the batch) and 2 (after the first sandbox) pass; the third,
    // after the second sandbox, answers "stop".
    auto cleanup = job(nullptr, s, "w1", clock_sleep(2));
    const auto r = cleanup.run_once();
    EXPECT_TRUE(r.stopped_early);
    EXPECT_EQ(r.stop_reason, "stopping");
    EXPECT_EQ(r.count("deleted"), 2);
    EXPECT_EQ(r.count("left_claimed"), 2);
    EXPECT_EQ(provider_.delete_calls(), 2);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::pending_deletion], 2);
    // Given back at once: another worker claims them now, not a claim lease later.
    EXPECT_EQ(store_->claim_for_deletion({"w2", clock_.now(), clock_.now() + 30, 10}).size(), 2u);
}

TEST_F(JobsCleanupTest, HeartbeatRenewsTheClaimsOnTheBatchInHand) {
    fill_pool(4);
    for (int i = 0; i < 3; ++i) give_back("p" + std::to_string(i));
    auto s = settings();
    s.claim_lease = std::chrono::seconds(30);
    s.per_sandbox_delay = std::chrono::milliseconds(1);
    CleanupJob* self = nullptr;
    bool beat = false;
    // The wait after the first sandbox is where the heartbeat comes, far past the claim lease.
    auto cleanup = job(nullptr, s, "w1", [&](std::chrono::milliseconds d) {
        if (d.count() > 0 && !beat) {
            beat = true;
            clock_.advance(std::chrono::seconds(100));
            self->on_heartbeat();
            // The two still in hand are claimed for 30 s from now: nobody else takes them.
            EXPECT_TRUE(store_->claim_for_deletion({"w2", clock_.now(), clock_.now() + 30, 10}).empty());
        }
        return true;
    });
    self = &cleanup;
    const auto r = cleanup.run_once();
    EXPECT_TRUE(beat);
    EXPECT_EQ(r.count("deleted"), 3);
    for (const auto& [account, times] : provider_.removals()) EXPECT_EQ(times, 1) << account;
    cleanup.on_heartbeat();  // nothing in hand: nothing to renew
}

TEST_F(JobsCleanupTest, ManyFailuresKeepTheSummarySmall) {
    fill_pool(30);
    for (int i = 0; i < 30; ++i)
        provider_.fail_deletes_of("identity/accounts/uuid-" + std::to_string(100000 + i), true);
    for (int i = 0; i < 30; ++i) give_back("p" + std::to_string(i));
    auto s = settings();
    s.batch_size = 50;
    auto cleanup = job(nullptr, s);
    const auto r = cleanup.run_once();
    EXPECT_EQ(r.count("failed"), 30);
    EXPECT_EQ(r.errors.size(), JobRunResult::kMaxErrors);
    EXPECT_EQ(r.errors_dropped, 10);
    EXPECT_EQ(r.to_json()["errors_dropped"], 10);
}

// The line "job run finished" of the run logged while `run` ran.
std::string finished_line(const std::function<void()>& run) {
    LogCapture capture;
    run();
    std::istringstream lines(capture.text());
    for (std::string line; std::getline(lines, line);) {
        if (line.find("job run finished") != std::string::npos) return line;
    }
    return "";
}

TEST_F(JobsCleanupTest, ARunThatDidNothingLogsAtDebugOnly) {
    auto cleanup = job();
    const std::string idle = finished_line([&] { cleanup.run_once(); });
    EXPECT_NE(idle.find("[debug]"), std::string::npos) << idle;

    fill_pool(1);
    give_back("p1");
    const std::string busy = finished_line([&] { cleanup.run_once(); });
    EXPECT_NE(busy.find("[info]"), std::string::npos) << busy;
}

}  // namespace
}  // namespace broker::testing

namespace broker::testing {
namespace {

class JobsCleanupConcurrencyTest : public JobsTest {
  protected:
    CleanupSettings settings(int concurrency) const {
        CleanupSettings s;
        s.batch_size = 10;
        s.max_attempts = 3;
        s.claim_lease = std::chrono::seconds(300);
        s.max_concurrency = concurrency;
        return s;
    }
    // Every delete waits (real time, bounded) until `width` are in flight at once, so the
    // widest point reached is the job's own bound.
    void hold_deletes_until(int width) {
        provider_.on_delete([this, width](const std::string&) {
            const int now = ++in_flight_;
            int seen = widest_.load();
            while (now > seen && !widest_.compare_exchange_weak(seen, now)) {
            }
            const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
            while (in_flight_.load() < width && widest_.load() < width &&
                   std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            --in_flight_;
        });
    }
    std::atomic<int> in_flight_{0};
    std::atomic<int> widest_{0};
};

TEST_F(JobsCleanupConcurrencyTest, DeletesConcurrentlyUpToItsBoundEachSandboxExactlyOnce) {
    fill_pool(30);
    for (int i = 0; i < 30; ++i) give_back("p" + std::to_string(i));
    hold_deletes_until(4);
    CleanupJob cleanup(provider_, nullptr, *store_, clock_, settings(4), "w1", {}, &metrics_);
    const auto r = cleanup.run_once();
    ASSERT_TRUE(r.ok) << r.to_json().dump();
    EXPECT_EQ(r.count("claimed"), 30);
    EXPECT_EQ(r.count("deleted"), 30);
    EXPECT_EQ(widest_.load(), 4) << "four at once, never more";
    EXPECT_EQ(provider_.delete_calls(), 30);
    for (const auto& [account, times] : provider_.removals()) EXPECT_EQ(times, 1) << account;
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::deleted], 30);
}

TEST_F(JobsCleanupConcurrencyTest, AnOpenCircuitStopsTheRunAndGivesBackEveryClaimNotDone) {
    fill_pool(20);
    for (int i = 0; i < 20; ++i) give_back("p" + std::to_string(i));
    std::atomic<int> calls{0};
    provider_.on_delete([&](const std::string&) {
        if (++calls == 6) provider_.circuit_open(true);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    CleanupJob cleanup(provider_, nullptr, *store_, clock_, settings(3), "w1", {}, &metrics_);
    const auto r = cleanup.run_once();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.stop_reason, "provider circuit open");
    const auto counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::deleted], r.count("deleted"));
    EXPECT_EQ(r.count("deleted") + r.count("left_claimed"), r.count("claimed"));
    EXPECT_EQ(r.count("failed"), 0) << "an open circuit is nobody's attempt";
    // Nothing stays claimed: another worker takes every sandbox not deleted at once.
    const auto pending = counts[SandboxStatus::pending_deletion];
    EXPECT_GT(pending, 0);
    EXPECT_EQ(static_cast<std::int64_t>(
                  store_->claim_for_deletion({"w2", clock_.now(), clock_.now() + 30, 100}).size()),
              pending);
}

TEST_F(JobsCleanupConcurrencyTest, TheRunsSummaryTellsHowTheProvidersLimitMoved) {
    fill_pool(3);
    for (int i = 0; i < 3; ++i) give_back("p" + std::to_string(i));
    AdaptiveLimiterOptions o;
    o.initial = 4;
    AdaptiveLimiter pace(clock_, o);
    // The provider refuses a call meanwhile (as the CSP client reports a 429 to the limit).
    provider_.on_delete([&](const std::string&) {
        if (auto p = pace.try_acquire()) pace.release(*p, CallSignal::throttled);
    });
    CleanupJob cleanup(provider_, nullptr, *store_, clock_, settings(2), "w1", {}, &metrics_, &pace);
    const auto r = cleanup.run_once();
    EXPECT_EQ(r.count("deleted"), 3);
    EXPECT_EQ(r.count("limit_max"), 4);
    EXPECT_EQ(r.count("limit_final"), pace.limit());
    EXPECT_LT(r.count("limit_min"), 4);
    EXPECT_EQ(r.count("throttled"), 3);
    EXPECT_EQ(r.to_json()["counts"]["limit_final"], pace.limit());
}

}  // namespace
}  // namespace broker::testing
