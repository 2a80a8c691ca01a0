// The sync job against a real SQLite store: new, vanished and reappearing accounts; held ones
// untouched; a failed or cut-off list marks nothing stale; the list written part by part;
// metrics, the run summary and its progress.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "jobs/sync_job.hpp"
#include "store/sqlite/connection.hpp"
#include "unit/support/jobs_fixture.hpp"

namespace broker::testing {
namespace {

class JobsSyncTest : public JobsTest {};

TEST_F(JobsSyncTest, InsertsMarksStaleAndRevives) {
    provider_.add_accounts(5);
    SyncJob sync(provider_, *store_, clock_, &metrics_);
    auto r = sync.run_once();
    ASSERT_TRUE(r.ok) << r.to_json().dump();
    EXPECT_EQ(r.job, "sync");
    EXPECT_EQ(r.count("listed"), 5);
    EXPECT_EQ(r.count("ignored"), 2);
    EXPECT_EQ(r.count("inserted"), 5);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 5);

    const Sandbox held = allocate("p1");  // 100000, first by name
    provider_.vanish("100003");
    provider_.vanish("100004");
    provider_.vanish(held.sandbox_id);
    clock_.advance(std::chrono::minutes(10));
    r = sync.run_once();
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.count("marked_stale"), 2);
    EXPECT_EQ(r.count("refreshed"), 2);
    EXPECT_EQ(status("100003"), SandboxStatus::stale);
    EXPECT_EQ(status("100004"), SandboxStatus::stale);
    EXPECT_EQ(status(held.sandbox_id), SandboxStatus::allocated) << "a held sandbox is never marked stale";

    provider_.reappear("100003");
    clock_.advance(std::chrono::minutes(10));
    r = sync.run_once();
    EXPECT_EQ(r.count("revived"), 1);
    EXPECT_EQ(r.count("marked_stale"), 0);
    EXPECT_EQ(status("100003"), SandboxStatus::available);
    EXPECT_EQ(status("100004"), SandboxStatus::stale);

    const auto events = store_->history("100003");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[1].to, SandboxStatus::stale);
    EXPECT_EQ(events[1].actor, "sync");
    EXPECT_EQ(events[2].to, SandboxStatus::available);

    EXPECT_EQ(metrics_.sync_total.with_labels({"success"}).value(), 3u);
    EXPECT_EQ(metrics_.sync_sandboxes_stale.value(), 2u);
    EXPECT_EQ(metrics_.sync_sandboxes_synced.value(), 5u + 2u + 3u);
}

TEST_F(JobsSyncTest, FailedListMarksNothingStale) {
    fill_pool(4);
    provider_.fail_list(true);
    SyncJob sync(provider_, *store_, clock_, &metrics_);
    const auto r = sync.run_once();
    EXPECT_FALSE(r.ok);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("HTML instead of JSON"), std::string::npos);
    EXPECT_EQ(r.count("marked_stale"), 0);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 4);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::stale], 0);
    EXPECT_EQ(metrics_.sync_total.with_labels({"error"}).value(), 1u);

    const auto json = r.to_json();
    EXPECT_EQ(json["job"], "sync");
    EXPECT_EQ(json["ok"], false);
    EXPECT_EQ(json["errors"].size(), 1u);
}

TEST_F(JobsSyncTest, AStoreFailureIsAFailedRunNotAnException) {
    fill_pool(2);
    // Someone broke the database under the running store: every write now throws.
    sqlite::Connection(dir_.file("broker.db"), sqlite::Connection::Mode::read_write, 5000)
        .exec("DROP TABLE sandboxes");
    SyncJob sync(provider_, *store_, clock_, &metrics_);
    JobRunResult r;
    ASSERT_NO_THROW(r = sync.run_once());
    EXPECT_FALSE(r.ok);
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(r.errors[0].find("run failed"), std::string::npos) << r.errors[0];
    EXPECT_EQ(metrics_.sync_total.with_labels({"error"}).value(), 1u);
}

// A RunControl that keeps what the run reported, and answers keep_going() as told.
class RecordingControl final : public RunControl {
  public:
    bool keep_going() const override { return go_on; }
    void report_progress(const std::map<std::string, std::int64_t>& counts) override {
        reports.push_back(counts);
    }
    bool go_on = true;
    std::vector<std::map<std::string, std::int64_t>> reports;
};

TEST_F(JobsSyncTest, WritesTheListPartByPartAndReportsEachPart) {
    provider_.add_accounts(5);
    SyncJob sync(provider_, *store_, clock_, nullptr, /*part_size=*/2);
    RecordingControl control;
    const auto r = sync.run(control);
    ASSERT_TRUE(r.ok) << r.to_json().dump();
    EXPECT_EQ(r.count("listed"), 5);
    EXPECT_EQ(r.count("inserted"), 5);
    ASSERT_EQ(control.reports.size(), 3u) << "parts of 2, 2 and 1";
    EXPECT_EQ(control.reports[0].at("received"), 2);
    EXPECT_EQ(control.reports[0].at("inserted"), 2) << "each part is written as it comes";
    EXPECT_EQ(control.reports[2].at("received"), 5);
    EXPECT_EQ(control.reports[2].at("inserted"), 5);
}

TEST_F(JobsSyncTest, ALostLeaseStopsTheListAndMarksNothingStale) {
    fill_pool(3);
    provider_.vanish("100001");  // a whole list would mark it stale
    SyncJob sync(provider_, *store_, clock_, nullptr, /*part_size=*/2);
    RecordingControl control;
    control.go_on = false;
    const auto r = sync.run(control);
    EXPECT_TRUE(r.stopped_early);
    EXPECT_EQ(r.count("marked_stale"), 0);
    EXPECT_EQ(status("100001"), SandboxStatus::available);

    control.go_on = true;
    EXPECT_EQ(sync.run(control).count("marked_stale"), 1);
}

// A provider whose list breaks off after its first parts (a connection dropped half-way).
class CutOffProvider final : public Provider {
  public:
    explicit CutOffProvider(std::vector<std::vector<ProviderSandbox>> parts) : parts_(std::move(parts)) {}
    ListResult list_sandboxes() override { return {}; }
    ListSummary stream_sandboxes(std::size_t, const ListPartSink& sink) override {
        for (auto part : parts_) sink(std::move(part));
        ListSummary s;
        s.attempts = 1;
        s.failure =
            ProviderFailure{ProviderFailureKind::unavailable, "transport error: connection reset", {}};
        return s;
    }
    DeleteResult delete_sandbox(const std::string&) override { return {}; }

  private:
    std::vector<std::vector<ProviderSandbox>> parts_;
};

TEST_F(JobsSyncTest, AListCutOffHalfWayUpsertsWhatCameAndMarksNothingStale) {
    fill_pool(4);
    CutOffProvider provider({{{"900001", "new-1", "identity/accounts/a", ""}}});
    SyncJob sync(provider, *store_, clock_, &metrics_);
    const auto r = sync.run_once();
    EXPECT_FALSE(r.ok);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("connection reset"), std::string::npos) << r.errors[0];
    EXPECT_EQ(r.count("inserted"), 1);
    EXPECT_EQ(r.count("marked_stale"), 0);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], 5);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::stale], 0) << "the pool not listed stays available";
    EXPECT_EQ(metrics_.sync_total.with_labels({"error"}).value(), 1u);
}

}  // namespace
}  // namespace broker::testing
