// The AdminService against a real SQLite store, the real jobs and the fake provider: query
// validation, pagination that visits every row once, the bulk-delete refusals, history, and
// job control (pause refuses runs; run-now is recorded, handed to the local worker, and
// answered at once, its result read back from the store once a run has served it).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "jobs/cleanup_job.hpp"
#include "jobs/stale_job.hpp"
#include "jobs/sync_job.hpp"
#include "jobs/worker.hpp"
#include "service/admin_service.hpp"
#include "service/cursor.hpp"
#include "unit/support/jobs_fixture.hpp"

namespace broker::testing {
namespace {

using namespace std::chrono_literals;

class AdminServiceTest : public JobsTest {
  protected:
    // A service that runs `local` jobs itself, as the `run` process does.
    AdminService service(std::vector<Job*> local = {}) {
        LocalJobs jobs;
        jobs.jobs = std::move(local);
        jobs.start_run = [this](const std::string& job) { started_.push_back(job); };
        jobs.wake = [this] { ++wakes_; };
        return AdminService(*store_, *store_, *store_, clock_, config_, std::move(jobs));
    }

    std::vector<std::string> every_id(AdminService& admin, std::optional<std::string> status, int limit) {
        std::vector<std::string> ids;
        std::optional<std::string> cursor;
        for (int pages = 0; pages < 1000; ++pages) {
            auto query = AdminService::parse_list_query(status, std::to_string(limit), cursor);
            EXPECT_FALSE(query.refusal);
            if (!query.value) break;
            const AdminPage page = admin.list(*query.value);
            EXPECT_LE(page.items.size(), static_cast<std::size_t>(limit));
            for (const auto& s : page.items) ids.push_back(s.sandbox_id);
            if (!page.next_cursor) break;
            cursor = page.next_cursor;
        }
        return ids;
    }

    JobConfig config_;
    int wakes_ = 0;
    std::vector<std::string> started_;  // runs handed to the local worker
};

TEST_F(AdminServiceTest, ListQueryValidation) {
    auto q = AdminService::parse_list_query(std::nullopt, std::nullopt, std::nullopt);
    ASSERT_TRUE(q.value);
    EXPECT_FALSE(q.value->status) << "no status: every status but deleted";
    EXPECT_EQ(q.value->limit, AdminService::kDefaultLimit);

    q = AdminService::parse_list_query("stale", "7", encode_cursor("100004"));
    ASSERT_TRUE(q.value);
    EXPECT_EQ(q.value->status, SandboxStatus::stale);
    EXPECT_EQ(q.value->limit, 7);
    EXPECT_EQ(q.value->after_sandbox_id, "100004");

    for (const char* limit : {"0", "-1", "1001", "abc", "10.5", ""}) {
        q = AdminService::parse_list_query(std::nullopt, std::string(limit), std::nullopt);
        ASSERT_TRUE(q.refusal) << limit;
        EXPECT_EQ(q.refusal->code, ErrorCode::invalid_request);
        EXPECT_NE(q.refusal->message.find("limit"), std::string::npos);
    }
    q = AdminService::parse_list_query("sleeping", std::nullopt, std::nullopt);
    ASSERT_TRUE(q.refusal);
    EXPECT_NE(q.refusal->message.find("pending_deletion"), std::string::npos) << "names the valid statuses";
    q = AdminService::parse_list_query(std::nullopt, std::nullopt, "100004");
    ASSERT_TRUE(q.refusal);
    EXPECT_NE(q.refusal->message.find("cursor"), std::string::npos);
}

TEST_F(AdminServiceTest, SmallPagesVisitEveryRowOnceAndSkipDeletedByDefault) {
    fill_pool(23);
    const Sandbox returned = give_back("p1");
    ASSERT_TRUE(store_->claim_for_deletion({"w", clock_.now(), clock_.now() + 60, 10}).size() == 1);
    ASSERT_TRUE(store_->record_deleted(returned.sandbox_id, "cleanup", clock_.now()));
    auto admin = service();

    const auto ids = every_id(admin, std::nullopt, 5);
    EXPECT_EQ(ids.size(), 22u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "a row seen twice";
    EXPECT_EQ(std::count(ids.begin(), ids.end(), returned.sandbox_id), 0) << "deleted rows are history";

    const auto deleted = every_id(admin, "deleted", 5);
    EXPECT_EQ(deleted, std::vector<std::string>{returned.sandbox_id});
    EXPECT_EQ(every_id(admin, std::nullopt, 1000).size(), 22u);
}

TEST_F(AdminServiceTest, SandboxDetailCarriesItsHistory) {
    fill_pool(2);
    const Sandbox s = give_back("p1");
    auto admin = service();
    const auto detail = admin.sandbox(s.sandbox_id);
    ASSERT_TRUE(detail);
    EXPECT_EQ(detail->sandbox.status, SandboxStatus::pending_deletion);
    ASSERT_GE(detail->history.size(), 3u) << "created, allocated, returned";
    EXPECT_EQ(detail->history.back().to, SandboxStatus::pending_deletion);
    EXPECT_EQ(detail->history.back().actor, "p1");
    EXPECT_FALSE(admin.sandbox("no-such-id"));
}

TEST_F(AdminServiceTest, BulkDeleteRefusesAllocatedAndMissingStatus) {
    for (const std::optional<std::string>& bad :
         {std::optional<std::string>(), std::optional<std::string>(""),
          std::optional<std::string>("allocated"), std::optional<std::string>("gone")}) {
        const auto status = AdminService::parse_bulk_delete_status(bad);
        ASSERT_TRUE(status.refusal) << bad.value_or("(absent)");
        EXPECT_EQ(status.refusal->code, ErrorCode::invalid_request);
    }
    EXPECT_EQ(AdminService::parse_bulk_delete_status("stale").value, SandboxStatus::stale);
}

TEST_F(AdminServiceTest, BulkDeleteRemovesOnlyThatStatusAndRecordsTheAdmin) {
    fill_pool(6);
    provider_.vanish("100001");
    provider_.vanish("100002");
    SyncJob sync(provider_, *store_, clock_);
    ASSERT_EQ(sync.run_once().count("marked_stale"), 2);
    allocate("holder");
    auto admin = service();

    EXPECT_EQ(admin.bulk_delete(SandboxStatus::stale), 2);
    const StatusCounts counts = admin.stats();
    EXPECT_EQ(counts[SandboxStatus::stale], 0);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::available], 3);
    EXPECT_EQ(counts.total(), 4);
    EXPECT_FALSE(store_->get("100001"));
    const auto history = store_->history("100001");
    ASSERT_FALSE(history.empty());
    EXPECT_EQ(history.back().actor, "admin");
    EXPECT_FALSE(history.back().to) << "removed";
    EXPECT_EQ(provider_.delete_calls(), 0) << "bulk delete never touches the provider";
}

TEST_F(AdminServiceTest, GracePeriodHours) {
    auto admin = service();
    EXPECT_EQ(admin.parse_grace_hours(std::nullopt).value, config_.stale_grace);
    EXPECT_EQ(admin.parse_grace_hours("0").value, 0s);
    EXPECT_EQ(admin.parse_grace_hours("1.5").value, 5400s);
    for (const char* bad : {"-1", "abc", "1e3", "9000", "nan"}) {
        EXPECT_TRUE(admin.parse_grace_hours(std::string(bad)).refusal) << bad;
    }
}

TEST_F(AdminServiceTest, DeleteStaleHonoursTheGivenGrace) {
    fill_pool(3);
    provider_.vanish("100000");
    SyncJob sync(provider_, *store_, clock_);
    ASSERT_EQ(sync.run_once().count("marked_stale"), 1);
    clock_.advance(2h);
    auto admin = service();
    EXPECT_EQ(admin.delete_stale(3h).count("removed"), 0) << "stale for 2 h, grace 3 h";
    EXPECT_EQ(admin.delete_stale(1h).count("removed"), 1);
    EXPECT_FALSE(store_->get("100000"));
}

TEST_F(AdminServiceTest, UnknownJobNames) {
    EXPECT_TRUE(AdminService::check_job_name("sync").value);
    EXPECT_TRUE(AdminService::check_job_name("auto_delete_stale").value);
    const auto unknown = AdminService::check_job_name("backup");
    ASSERT_TRUE(unknown.refusal);
    EXPECT_EQ(unknown.refusal->code, ErrorCode::job_not_found);
}

TEST_F(AdminServiceTest, JobsListEveryJobWithItsInterval) {
    config_.sync_interval = 42s;
    SyncJob sync(provider_, *store_, clock_);
    auto admin = service({&sync});
    const auto views = admin.jobs();
    ASSERT_EQ(views.size(), 5u);
    EXPECT_EQ(views[4].name, "pool_sample");
    EXPECT_EQ(views[4].interval, 60s);
    EXPECT_EQ(views[0].name, "sync");
    EXPECT_EQ(views[0].interval, 42s);
    EXPECT_TRUE(views[0].runs_here);
    EXPECT_FALSE(views[0].known_to_store);
    EXPECT_EQ(views[1].name, "cleanup");
    EXPECT_FALSE(views[1].runs_here);
}

TEST_F(AdminServiceTest, RunNowIsRecordedAndHandedToTheLocalWorkerWithoutRunningInTheCall) {
    provider_.add_accounts(4);
    SyncJob sync(provider_, *store_, clock_);
    auto admin = service({&sync});
    const auto report = admin.run("sync");
    ASSERT_TRUE(report.value);
    EXPECT_TRUE(report.value->runs_here);
    const JobRun queued = report.value->run;
    EXPECT_GT(queued.id, 0);
    EXPECT_EQ(queued.status, JobRunStatus::queued);
    EXPECT_EQ(queued.requested_at, clock_.now());
    EXPECT_EQ(started_, std::vector<std::string>{"sync"});
    EXPECT_EQ(provider_.list_calls(), 0) << "nothing runs inside the request";
    EXPECT_TRUE(admin.job("sync").state.run_requested);

    // Whoever takes the lease next serves the request and leaves its result in the run.
    clock_.advance(2s);
    ASSERT_TRUE(run_under_lease(*store_, clock_, sync, "w", 600s, {60s, 3600s}));
    const auto done = admin.run_status("sync", queued.id);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, JobRunStatus::finished);
    EXPECT_EQ(done->holder, "w");
    EXPECT_EQ(done->started_at, clock_.now());
    EXPECT_TRUE(done->ok);
    EXPECT_EQ(nlohmann::json::parse(done->result)["counts"]["inserted"], 4);
    EXPECT_FALSE(admin.run_status("sync", queued.id + 1000));
    EXPECT_FALSE(admin.run_status("cleanup", queued.id)) << "a run belongs to its job";
}

TEST_F(AdminServiceTest, PausedJobsRefuseRunsUntilResumed) {
    provider_.add_accounts(2);
    SyncJob sync(provider_, *store_, clock_);
    auto admin = service({&sync});
    EXPECT_TRUE(admin.set_paused("sync", true).state.paused);
    EXPECT_EQ(wakes_, 1) << "the local worker is told";
    const auto refused = admin.run("sync");
    ASSERT_TRUE(refused.refusal);
    EXPECT_EQ(refused.refusal->code, ErrorCode::job_paused);
    EXPECT_TRUE(started_.empty());
    EXPECT_FALSE(admin.job("sync").state.run_requested) << "a refused request must not fire on resume";

    EXPECT_FALSE(admin.set_paused("sync", false).state.paused);
    EXPECT_EQ(admin.run("sync").value->run.status, JobRunStatus::queued);
    EXPECT_EQ(started_.size(), 1u);
}

TEST_F(AdminServiceTest, RunOfAJobThisProcessDoesNotHaveIsLeftToTheWorkers) {
    auto admin = service();  // an API-only process
    const auto report = admin.run("cleanup");
    ASSERT_TRUE(report.value);
    EXPECT_FALSE(report.value->runs_here);
    EXPECT_EQ(report.value->run.status, JobRunStatus::queued);
    EXPECT_TRUE(started_.empty());
    EXPECT_TRUE(admin.job("cleanup").state.run_requested);

    admin.set_paused("cleanup", true);
    EXPECT_TRUE(admin.run("cleanup").refusal);
}

// On a store no other process may share, a job this process does not run would stay queued
// forever: refused instead, and nothing is recorded.
TEST_F(AdminServiceTest, RunOfAJobNoProcessCanRunIsRefusedOnAnExclusiveStore) {
    LocalJobs jobs;
    jobs.exclusive_store = true;
    AdminService admin(*store_, *store_, *store_, clock_, config_, std::move(jobs));
    const auto report = admin.run("sync");
    ASSERT_TRUE(report.refusal);
    EXPECT_EQ(report.refusal->code, ErrorCode::job_unavailable);
    EXPECT_NE(report.refusal->message.find("CSP_BASE_URL"), std::string::npos);
    EXPECT_FALSE(admin.job("sync").state.run_requested);
}

TEST_F(AdminServiceTest, RunWaitAndIdValidation) {
    EXPECT_EQ(AdminService::parse_run_wait(std::nullopt).value, 0s);
    EXPECT_EQ(AdminService::parse_run_wait("60").value, 60s);
    for (const char* bad : {"61", "-1", "1.5", "soon"}) {
        EXPECT_TRUE(AdminService::parse_run_wait(std::string(bad)).refusal) << bad;
    }
    EXPECT_EQ(AdminService::parse_run_id("17").value, 17);
    for (const char* bad : {"0", "-3", "x", ""}) EXPECT_TRUE(AdminService::parse_run_id(bad).refusal) << bad;
}

}  // namespace
}  // namespace broker::testing
