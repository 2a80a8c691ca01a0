// The auto_expiry and auto_delete_stale jobs against a real SQLite store and a moved clock:
// only expired allocations move, a return is never clobbered, batches are bounded (and a lost
// lease stops the run between them); stale
// sandboxes go after the grace, history after its retention.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "jobs/expiry_job.hpp"
#include "jobs/stale_job.hpp"
#include "unit/support/jobs_fixture.hpp"

namespace broker::testing {
namespace {

class JobsExpiryTest : public JobsTest {
  protected:
    AutoExpiryJob job(int batch = 100, int max_batches = 100) {
        return AutoExpiryJob(*store_, clock_, {lease_, batch, max_batches}, &metrics_);
    }
};

TEST_F(JobsExpiryTest, OnlyExpiredAllocationsMoveAndAReturnIsNotClobbered) {
    fill_pool(4);
    const Sandbox early = allocate("early");
    clock_.advance(std::chrono::hours(1));
    const Sandbox late = allocate("late");
    const Sandbox returned = allocate("returner");
    auto expiry = job();

    // Lab duration (2 h) + grace (10 min) after the first allocation, less a second.
    clock_.advance(std::chrono::minutes(70) - std::chrono::seconds(1));
    EXPECT_EQ(expiry.run_once().count("expired"), 0);
    clock_.advance(std::chrono::seconds(1));
    auto r = expiry.run_once();
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.count("expired"), 1);
    EXPECT_EQ(status(early.sandbox_id), SandboxStatus::pending_deletion);
    EXPECT_EQ(status(late.sandbox_id), SandboxStatus::allocated);
    EXPECT_EQ(store_->get(early.sandbox_id)->deletion_requested_at, clock_.now());

    // The returner gives theirs back in time; expiry later finds nothing to take.
    ASSERT_EQ(store_->mark_for_deletion({returned.sandbox_id, "returner", clock_.now(), lease_}).outcome,
              MarkOutcome::marked);
    const auto requested = store_->get(returned.sandbox_id)->deletion_requested_at;
    clock_.advance(std::chrono::hours(1));
    r = expiry.run_once();
    EXPECT_EQ(r.count("expired"), 1);  // `late`
    EXPECT_EQ(store_->get(returned.sandbox_id)->deletion_requested_at, requested);

    const auto events = store_->history(early.sandbox_id);
    EXPECT_EQ(events.back().actor, "auto_expiry");
    EXPECT_EQ(metrics_.expiry_orphaned.value(), 2u);
    EXPECT_EQ(metrics_.expiry_total.with_labels({"success"}).value(), 3u);
}

TEST_F(JobsExpiryTest, WorksInBoundedBatches) {
    fill_pool(25);
    for (int i = 0; i < 25; ++i) allocate("p" + std::to_string(i));
    clock_.advance(std::chrono::hours(3));
    auto bounded = job(10, 2);
    auto r = bounded.run_once();
    EXPECT_EQ(r.count("expired"), 20);
    EXPECT_EQ(r.count("batches"), 2);
    r = bounded.run_once();
    EXPECT_EQ(r.count("expired"), 5);
    EXPECT_EQ(r.count("batches"), 1);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::pending_deletion], 25);
}

// Answers keep_going() true `batches` times, then false: the lease lost after that many.
class LeaseLostAfter final : public RunControl {
  public:
    explicit LeaseLostAfter(int batches) : left_(batches) {}
    bool keep_going() const override { return left_-- > 0; }
    void report_progress(const std::map<std::string, std::int64_t>& counts) override { last = counts; }
    std::map<std::string, std::int64_t> last;

  private:
    mutable int left_;
};

TEST_F(JobsExpiryTest, StopsBetweenBatchesOnceTheLeaseIsLost) {
    fill_pool(25);
    for (int i = 0; i < 25; ++i) allocate("p" + std::to_string(i));
    clock_.advance(std::chrono::hours(3));
    auto bounded = job(10, 5);
    LeaseLostAfter control(1);
    const auto r = bounded.run(control);
    EXPECT_TRUE(r.stopped_early);
    EXPECT_EQ(r.stop_reason, "job lease lost");
    EXPECT_EQ(r.count("expired"), 10) << "the batch in hand, no other";
    EXPECT_EQ(control.last.at("expired"), 10);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 15);
}

class JobsStaleTest : public JobsTest {};

TEST_F(JobsStaleTest, RemovesStaleAfterTheGraceAndPrunesOldHistory) {
    fill_pool(3);
    provider_.vanish("100002");
    SyncJob sync(provider_, *store_, clock_);
    ASSERT_EQ(sync.run_once().count("marked_stale"), 1);

    AutoDeleteStaleJob stale(*store_, clock_, {std::chrono::hours(24), 30});
    clock_.advance(std::chrono::hours(24));
    auto r = stale.run_once();
    EXPECT_EQ(r.count("removed"), 0) << "exactly the grace is not past it";
    clock_.advance(std::chrono::seconds(1));
    r = stale.run_once();
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.count("removed"), 1);
    EXPECT_FALSE(store_->get("100002"));
    EXPECT_EQ(store_->history("100002").back().actor, "auto_delete_stale");

    // Thirty days on, the history of those first days goes.
    EXPECT_EQ(r.count("history_pruned"), 0);
    clock_.advance(std::chrono::hours(24 * 30) + std::chrono::seconds(1));
    r = stale.run_once();
    EXPECT_EQ(r.count("history_pruned"), 5);  // 3 listed, 1 stale, 1 removed
    EXPECT_TRUE(store_->history("100002").empty());
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 2);
}

TEST_F(JobsStaleTest, AnotherGraceOnRequest) {
    fill_pool(2);
    provider_.vanish("100001");
    SyncJob sync(provider_, *store_, clock_);
    sync.run_once();
    AutoDeleteStaleJob stale(*store_, clock_, {std::chrono::hours(24), 30});
    clock_.advance(std::chrono::hours(1) + std::chrono::seconds(1));
    EXPECT_EQ(stale.run_once().count("removed"), 0);
    const auto r = stale.run_with_grace(std::chrono::hours(1));
    EXPECT_EQ(r.count("removed"), 1);
    EXPECT_EQ(r.count("grace_sec"), 3600);
}

}  // namespace
}  // namespace broker::testing
