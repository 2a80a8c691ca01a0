// The jobs' side of the outbox against a real SQLite store: a failed run writes job.failed,
// the pool sample's low-watermark check writes pool.low and pool.recovered once per crossing
// (with its margin), the stale job prunes delivered old events, and the process counts the
// events it writes (broker_events_written_total). Also: the pool sample asks a store whose
// counts can drift to reconcile them first.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/outbox_wiring.hpp"
#include "jobs/pool_sample_job.hpp"
#include "jobs/pool_watermark.hpp"
#include "jobs/stale_job.hpp"
#include "jobs/sync_job.hpp"
#include "jobs/worker.hpp"
#include "store/outbox.hpp"
#include "unit/support/jobs_fixture.hpp"

namespace broker::testing {
namespace {

using namespace std::chrono_literals;

class JobsOutboxTest : public JobsTest {
  protected:
    std::vector<OutboxEvent> events_of(std::string_view type) {
        std::vector<OutboxEvent> out;
        for (auto& e : store_->read_events(0, 10000))
            if (e.type == type) out.push_back(std::move(e));
        return out;
    }
};

TEST_F(JobsOutboxTest, AFailedRunWritesJobFailed) {
    SyncJob sync(provider_, *store_, clock_, &metrics_);
    WorkerOptions o;
    o.worker_id = "worker-a";
    o.job_lease = 60s;
    o.poll = 5ms;
    o.events = store_.get();
    Worker worker(*store_, clock_, {{&sync, 600s}}, o);

    provider_.add_accounts(1);
    EXPECT_EQ(worker.run_due_jobs(), 1);
    EXPECT_TRUE(events_of(kEventJobFailed).empty());

    clock_.advance(600s);
    provider_.fail_list(true);
    EXPECT_EQ(worker.run_due_jobs(), 1);
    const auto failed = events_of(kEventJobFailed);
    ASSERT_EQ(failed.size(), 1u);
    const auto payload = nlohmann::json::parse(failed[0].payload);
    EXPECT_EQ(payload["data"]["job"], "sync");
    EXPECT_EQ(payload["data"]["worker"], "worker-a");
    EXPECT_FALSE(payload["data"]["result"]["ok"].get<bool>());
    EXPECT_EQ(failed[0].at, clock_.now());
}

TEST_F(JobsOutboxTest, TheWatermarkIsCrossedOnceEachWayWithItsMargin) {
    const PoolWatermarkSettings s{5, 3};
    const UnixSeconds now = clock_.now();
    EXPECT_EQ(check_pool_watermark(*store_, 9, s, now), PoolWatermarkChange::none);
    EXPECT_EQ(check_pool_watermark(*store_, 5, s, now), PoolWatermarkChange::none);  // at it: not below
    EXPECT_EQ(check_pool_watermark(*store_, 4, s, now), PoolWatermarkChange::low);
    EXPECT_EQ(check_pool_watermark(*store_, 0, s, now), PoolWatermarkChange::none);
    EXPECT_EQ(check_pool_watermark(*store_, 7, s, now), PoolWatermarkChange::none);  // inside the margin
    EXPECT_EQ(check_pool_watermark(*store_, 4, s, now), PoolWatermarkChange::none);
    EXPECT_EQ(check_pool_watermark(*store_, 8, s, now + 60), PoolWatermarkChange::recovered);
    EXPECT_EQ(check_pool_watermark(*store_, 9, s, now + 60), PoolWatermarkChange::none);

    const auto low = events_of(kEventPoolLow);
    ASSERT_EQ(low.size(), 1u);
    const auto data = nlohmann::json::parse(low[0].payload)["data"];
    EXPECT_EQ(data["available"], 4);
    EXPECT_EQ(data["watermark"], 5);
    EXPECT_EQ(data["recovers_at"], 8);
    const auto recovered = events_of(kEventPoolRecovered);
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_EQ(recovered[0].at, now + 60);

    // The next crossing is one event again; checking it a second time (another worker's turn)
    // records nothing more.
    EXPECT_EQ(check_pool_watermark(*store_, 1, s, now + 120), PoolWatermarkChange::low);
    EXPECT_EQ(check_pool_watermark(*store_, 1, s, now + 180), PoolWatermarkChange::none);
    EXPECT_EQ(events_of(kEventPoolLow).size(), 2u);
}

TEST_F(JobsOutboxTest, AZeroWatermarkNeverAlertsAndEndsALowPool) {
    EXPECT_EQ(check_pool_watermark(*store_, 0, {0, 5}, clock_.now()), PoolWatermarkChange::none);
    EXPECT_EQ(check_pool_watermark(*store_, 0, {3, 5}, clock_.now()), PoolWatermarkChange::low);
    EXPECT_EQ(check_pool_watermark(*store_, 0, {0, 5}, clock_.now()), PoolWatermarkChange::recovered);
}

TEST_F(JobsOutboxTest, ThePoolSampleChecksTheWatermark) {
    fill_pool(2);
    PoolSampleJob job(*store_, *store_, clock_, 30);
    job.watch_watermark(*store_, {3, 1});
    const auto r = job.run_once();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.count("pool_low"), 1);
    EXPECT_EQ(events_of(kEventPoolLow).size(), 1u);
}

// A store part whose counts can drift, as the job sees it: answers what it is told, records when.
class FakeCountReconciler final : public CountReconciler {
  public:
    CountReconcileReport reconcile_counts_if_due(UnixSeconds now) override {
        asked_at.push_back(now);
        return answer;
    }
    CountReconcileReport answer;
    std::vector<UnixSeconds> asked_at;
};

TEST_F(JobsOutboxTest, ThePoolSampleReconcilesDriftingCountsWhenDue) {
    fill_pool(2);
    PoolSampleJob job(*store_, *store_, clock_, 30);
    FakeCountReconciler counts;
    job.reconcile_counts(counts);
    counts.answer = {true, 3, {SandboxStatus::available}};
    auto r = job.run_once();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(counts.asked_at, std::vector<UnixSeconds>{clock_.now()});
    EXPECT_EQ(r.count("counts_corrected"), 3);
    EXPECT_EQ(r.count("counts_deferred"), 1);
    // Not due: nothing reported; the sample is taken all the same.
    counts.answer = {};
    r = job.run_once();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(counts.asked_at.size(), 2u);
    EXPECT_FALSE(r.counts.contains("counts_corrected"));
    EXPECT_EQ(r.count("sampled_at"), clock_.now() - clock_.now() % 60);
}

TEST_F(JobsOutboxTest, TheStaleJobPrunesDeliveredEventsPastTheirRetention) {
    store_->append_event(kEventJobFailed, "{}", clock_.now() - 3 * 86400);
    store_->append_event(kEventJobFailed, "{}", clock_.now() - 2 * 86400);
    store_->append_event(kEventJobFailed, "{}", clock_.now());
    const auto all = store_->read_events(0, 10);
    ASSERT_EQ(all.size(), 3u);

    AutoDeleteStaleJob job(*store_, clock_, {});
    // Only the first was delivered: the second is old enough but stays.
    job.prune_events(*store_, 86400s, [&] { return all[0].id; });
    EXPECT_EQ(job.run_once().count("events_pruned"), 1);
    // Without a consumer's watermark: everything old enough.
    job.prune_events(*store_, 86400s);
    EXPECT_EQ(job.run_once().count("events_pruned"), 1);
    const auto left = store_->read_events(0, 10);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].id, all[2].id);
}

TEST_F(JobsOutboxTest, TheProcessCountsTheEventsItWritesAndTheSwitchTurnsThemOff) {
    count_events_written(*store_, registry_);
    fill_pool(2);
    allocate("p1");
    EXPECT_NE(registry_.render().find("broker_events_written_total{type=\"sandbox.synced\"} 2"),
              std::string::npos);
    EXPECT_NE(registry_.render().find("broker_events_written_total{type=\"sandbox.allocated\"} 1"),
              std::string::npos);

    configure_outbox(*store_, false);
    allocate("p2");
    configure_outbox(*store_, true);
    EXPECT_EQ(events_of(kEventAllocated).size(), 1u);
    EXPECT_NE(registry_.render().find("broker_events_written_total{type=\"sandbox.allocated\"} 1"),
              std::string::npos);
}

}  // namespace
}  // namespace broker::testing
