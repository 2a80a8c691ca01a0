// The admin API over HTTP on a broker without a provider (`run` on an imported pool): the
// admin token is required (none: 401, participant token: 403), bad parameters are 400 with a
// message naming them, unknown jobs 404, and the answers' shapes: stats, one sandbox with its
// history, the job list, pause / resume.
#include <gtest/gtest.h>

#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

struct AdminCall {
    std::string method;
    std::string target;
};

const std::vector<AdminCall> kAdminCalls = {
    {"GET", "/v1/admin/sandboxes"},
    {"GET", "/v1/admin/sandboxes/7100"},
    {"GET", "/v1/admin/stats"},
    {"GET", "/v1/admin/timeseries"},
    {"GET", "/v1/admin/sandboxes.csv"},
    {"GET", "/v1/admin/cleanup/failures"},
    {"POST", "/v1/admin/sync"},
    {"POST", "/v1/admin/cleanup"},
    {"POST", "/v1/admin/bulk-delete?status=stale"},
    {"POST", "/v1/admin/auto-delete-stale?grace_period_hours=1"},
    {"GET", "/v1/admin/jobs"},
    {"POST", "/v1/admin/jobs/sync/pause"},
    {"POST", "/v1/admin/jobs/sync/resume"},
    {"POST", "/v1/admin/jobs/sync/run"},
    {"GET", "/v1/admin/jobs/sync/runs/1"},
};

class AdminApi : public ::testing::Test {
  protected:
    AdminApi() : broker_(sandboxes("adm-", 12, 7100)), http_(broker_.client()) {}

    void expect_bad_request(const std::string& method, const std::string& target,
                            const std::string& mentions) {
        const auto res = http_.request(method, target, admin_headers());
        EXPECT_EQ(res.status, 400) << method << " " << target << ": " << res.body;
        EXPECT_EQ(error_code(res), "INVALID_REQUEST") << target;
        const std::string message =
            res.json["error"]["message"].is_string() ? res.json["error"]["message"] : "";
        EXPECT_NE(message.find(mentions), std::string::npos) << target << ": " << message;
    }

    BrokerInstance broker_;
    HttpClient http_;
};

TEST_F(AdminApi, EveryRouteNeedsTheAdminToken) {
    for (const auto& call : kAdminCalls) {
        const auto anonymous = http_.request(call.method, call.target);
        EXPECT_EQ(anonymous.status, 401) << call.target;
        EXPECT_EQ(error_code(anonymous), "UNAUTHORIZED") << call.target;
        const auto participant =
            http_.request(call.method, call.target, {{"Authorization", "Bearer " + kApiToken}});
        EXPECT_EQ(participant.status, 403) << call.target;
        EXPECT_EQ(error_code(participant), "FORBIDDEN") << call.target;
        // The admin token gets through to the handler, whose answer may be a domain refusal
        // (this broker has no provider: a sync run is 409 JOB_UNAVAILABLE, no run 1 exists).
        const auto admin = http_.request(call.method, call.target, admin_headers());
        EXPECT_NE(admin.status, 401) << call.method << " " << call.target << ": " << admin.body;
        EXPECT_NE(admin.status, 403) << call.method << " " << call.target << ": " << admin.body;
        EXPECT_LT(admin.status, 500) << call.method << " " << call.target << ": " << admin.body;
        if (admin.status >= 400) {
            const std::string code = error_code(admin);
            EXPECT_TRUE(code == "JOB_UNAVAILABLE" || code == "JOB_NOT_FOUND") << call.target << ": " << code;
        }
    }
}

TEST_F(AdminApi, BadParametersAre400WithAMessage) {
    expect_bad_request("GET", "/v1/admin/sandboxes?status=sleeping", "status");
    expect_bad_request("GET", "/v1/admin/sandboxes?limit=0", "limit");
    expect_bad_request("GET", "/v1/admin/sandboxes?limit=1001", "limit");
    expect_bad_request("GET", "/v1/admin/sandboxes?limit=ten", "limit");
    expect_bad_request("GET", "/v1/admin/sandboxes?cursor=7105", "cursor");
    expect_bad_request("GET", "/v1/admin/sandboxes?status=%zz", "query");
    expect_bad_request("POST", "/v1/admin/bulk-delete", "status");
    expect_bad_request("POST", "/v1/admin/bulk-delete?status=allocated", "allocated");
    expect_bad_request("POST", "/v1/admin/bulk-delete?status=everything", "status");
    expect_bad_request("POST", "/v1/admin/auto-delete-stale?grace_period_hours=-2", "grace_period_hours");
    expect_bad_request("POST", "/v1/admin/auto-delete-stale?grace_period_hours=soon", "grace_period_hours");

    for (const char* target : {"/v1/admin/jobs/backup/run", "/v1/admin/jobs/backup/pause"}) {
        const auto res = admin_post(http_, target);
        EXPECT_EQ(res.status, 404) << target;
        EXPECT_EQ(error_code(res), "JOB_NOT_FOUND") << target;
    }
    EXPECT_EQ(admin_get(http_, "/v1/admin/sandboxes/999").status, 404);
    EXPECT_EQ(admin_get(http_, "/v1/admin/stats").json["total"], 12) << "nothing was removed by the refusals";
}

TEST_F(AdminApi, StatsAndOneSandboxWithItsHistory) {
    const std::string participant = unique_participant("admin");
    const auto allocated = allocate(http_, participant, {{"X-Instruqt-Track-ID", "lab-1"}});
    ASSERT_EQ(allocated.status, 201);
    const std::string id = allocated.json["sandbox_id"];

    const auto stats = admin_stats(http_);
    EXPECT_EQ(stats["available"], 11);
    EXPECT_EQ(stats["allocated"], 1);
    EXPECT_EQ(stats["deleted"], 0);
    EXPECT_EQ(stats["total"], 12);

    const auto detail = admin_get(http_, "/v1/admin/sandboxes/" + id);
    ASSERT_EQ(detail.status, 200) << detail.body;
    EXPECT_EQ(detail.json["status"], "allocated");
    EXPECT_EQ(detail.json["allocated_to_track"], participant);
    EXPECT_EQ(detail.json["track_name"], "lab-1");
    const auto& history = detail.json["history"];
    ASSERT_EQ(history.size(), 2u) << history.dump();
    EXPECT_TRUE(history[0]["from"].is_null()) << "created by the import";
    EXPECT_EQ(history[1]["from"], "available");
    EXPECT_EQ(history[1]["to"], "allocated");
    EXPECT_EQ(history[1]["actor"], participant);
}

TEST_F(AdminApi, JobControlWithoutAProvider) {
    const auto jobs = admin_get(http_, "/v1/admin/jobs");
    ASSERT_EQ(jobs.status, 200);
    ASSERT_EQ(jobs.json["jobs"].size(), 5u);
    EXPECT_EQ(jobs.json["jobs"][0]["name"], "sync");
    EXPECT_EQ(jobs.json["jobs"][0]["interval_sec"], 600);

    // No provider here, and the embedded store admits no worker that could have one: refused
    // with what to do, and nothing left queued to fire later. (A `serve` on PostgreSQL hands
    // the run to its workers: JobsWorker.ServeHandsRunRequestsToTheWorkers.)
    const auto sync = admin_post(http_, "/v1/admin/sync?wait=1");
    EXPECT_EQ(sync.status, 409) << sync.body;
    EXPECT_EQ(sync.json["error"]["code"], "JOB_UNAVAILABLE") << sync.body;
    EXPECT_NE(sync.json["error"]["message"].get<std::string>().find("CSP_BASE_URL"), std::string::npos);
    EXPECT_EQ(admin_get(http_, "/v1/admin/jobs").json["jobs"][0]["run_requested"], false);

    // auto_expiry runs here: answered at once with its run id; waited for, with its result.
    const auto expiry = admin_post(http_, "/v1/admin/jobs/auto_expiry/run?wait=30");
    ASSERT_EQ(expiry.status, 200) << expiry.body;
    EXPECT_EQ(expiry.json["status"], "finished");
    EXPECT_EQ(expiry.json["ok"], true);
    EXPECT_EQ(expiry.json["result"]["counts"].value("expired", -1), 0) << expiry.body;
    const auto again = admin_get(http_, "/v1/admin/jobs/auto_expiry/runs/" + expiry.json["run_id"].dump());
    ASSERT_EQ(again.status, 200);
    EXPECT_EQ(again.json, expiry.json);

    // Unknown runs and bad parameters.
    EXPECT_EQ(admin_get(http_, "/v1/admin/jobs/auto_expiry/runs/999999").status, 404);
    EXPECT_EQ(admin_get(http_, "/v1/admin/jobs/auto_expiry/runs/first").status, 400);
    EXPECT_EQ(admin_get(http_, "/v1/admin/jobs/backup/runs/1").status, 404);
    EXPECT_EQ(admin_post(http_, "/v1/admin/jobs/auto_expiry/run?wait=61").status, 400);
    EXPECT_EQ(admin_post(http_, "/v1/admin/sync?wait=soon").status, 400);

    const auto paused = admin_post(http_, "/v1/admin/jobs/auto_expiry/pause");
    ASSERT_EQ(paused.status, 200);
    EXPECT_EQ(paused.json["paused"], true);
    const auto refused = admin_post(http_, "/v1/admin/jobs/auto_expiry/run");
    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(error_code(refused), "JOB_PAUSED");
    const auto resumed = admin_post(http_, "/v1/admin/jobs/auto_expiry/resume");
    ASSERT_EQ(resumed.status, 200);
    EXPECT_EQ(resumed.json["paused"], false);
}

}  // namespace
}  // namespace broker::e2e
