// The cleanup and expiry jobs end to end, with the real simulator: returned sandboxes are
// deleted at the provider exactly once even while 30% of its calls fail and the broker is
// killed with SIGKILL in the middle of a cleanup; expired allocations are taken back and
// deleted; a paused cleanup deletes nothing until it is resumed.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>

#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

// Allocates `count` sandboxes to fresh participants and returns them all; their ids.
std::vector<std::string> allocate_and_return(HttpClient& http, int count, const std::string& label) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
        const std::string participant = unique_participant(label);
        const auto res = allocate(http, participant);
        EXPECT_EQ(res.status, 201) << res.body;
        if (res.status != 201) continue;
        const std::string id = res.json["sandbox_id"].get<std::string>();
        const auto marked = mark_for_deletion(http, id, participant);
        EXPECT_EQ(marked.status, 200) << marked.body;
        ids.push_back(id);
    }
    return ids;
}

// The simulator's accounts by csp_id (as text) with their fate: present, deleted, vanished.
std::map<std::string, std::string> fates(const SimProcess& sim) {
    auto http = sim.client();
    const auto res = http.get("/_sim/accounts");
    EXPECT_EQ(res.status, 200);
    std::map<std::string, std::string> out;
    for (const auto& a : res.json["accounts"]) out[std::to_string(a["csp_id"].get<long>())] = a["fate"];
    return out;
}

std::int64_t sim_deleted(const SimProcess& sim) {
    return sim.stats()["deleted"].get<std::int64_t>();
}

TEST(JobsCleanup, ReturnedSandboxesAreDeletedExactlyOnceThroughFaultsAndAHardKill) {
    SimProcess sim(sim_flags(40, {"--seed", "11"}));
    Environment env = jobs_env(sim);
    env["CLEANUP_MAX_CONCURRENCY"] = "8";  // deletions in flight at once when the kill comes
    SimBroker broker(env);
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 40; }, 10s));

    // Return 20 while cleanup is paused, so that the run that deletes them starts under faults.
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/pause").status, 200);
    const auto returned = allocate_and_return(http, 20, "cleanup");
    ASSERT_EQ(returned.size(), 20u);
    sim.set_faults({{"fail_rate", 0.3}, {"throttle_share", 0.1}, {"latency_ms", 60}});
    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/resume").status, 200);

    // SIGKILL in the middle of the cleanup: some sandboxes deleted, others not yet.
    ASSERT_TRUE(wait_until([&] { return sim_deleted(sim) >= 4; }, 20s)) << sim.stats().dump();
    broker.kill_hard();
    const auto deleted_at_kill = sim_deleted(sim);
    EXPECT_LT(deleted_at_kill, 20) << "the kill came after the cleanup had finished";

    broker.start();  // the same store: claims and the job lease of the killed process run out
    auto after = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(after)["deleted"] == 20; }, 30s))
        << admin_stats(after).dump() << "\nsim: " << sim.stats().dump();

    const auto stats = admin_stats(after);
    EXPECT_EQ(stats["pending_deletion"], 0);
    EXPECT_EQ(stats["deletion_failed"], 0);
    EXPECT_EQ(stats["available"], 20);
    EXPECT_EQ(stats["total"], 20) << "deleted rows are history, not pool";
    const auto sim_stats = sim.stats();
    EXPECT_EQ(sim_stats["deleted"], 20) << sim_stats.dump();
    EXPECT_GT(sim_stats["faults_500"].get<int>() + sim_stats["faults_429"].get<int>(), 0)
        << "faults happened";
    std::cout << "[ figures  ] deleted at the kill: " << deleted_at_kill << " of 20; delete calls "
              << sim_stats["delete_calls"] << ", of which 404 " << sim_stats["delete_not_found"]
              << "; faults 500 " << sim_stats["faults_500"] << ", 429 " << sim_stats["faults_429"]
              << std::endl;

    // Exactly the returned sandboxes are gone at the provider, and each was recorded deleted once.
    const auto fate = fates(sim);
    const std::set<std::string> returned_set(returned.begin(), returned.end());
    int gone = 0;
    for (const auto& [id, what] : fate) {
        if (what == "deleted") {
            ++gone;
            EXPECT_TRUE(returned_set.contains(id)) << id << " was deleted but never returned";
        }
    }
    EXPECT_EQ(gone, 20);
    for (const auto& id : returned) {
        const auto detail = admin_get(after, "/v1/admin/sandboxes/" + id);
        ASSERT_EQ(detail.status, 200) << detail.body;
        EXPECT_EQ(detail.json["status"], "deleted");
        int to_deleted = 0;
        for (const auto& event : detail.json["history"]) to_deleted += event["to"] == "deleted";
        EXPECT_EQ(to_deleted, 1) << detail.json["history"].dump();
    }
}

TEST(JobsCleanup, ExpiredAllocationsAreTakenBackAndDeleted) {
    SimProcess sim(sim_flags(6));
    Environment env = jobs_env(sim);
    env["LAB_DURATION_SEC"] = "2";
    env["GRACE_PERIOD_SEC"] = "1";
    TestClock clock;
    SimBroker broker(env, clock.flags());
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 6; }, 10s));

    std::vector<std::string> held;
    for (int i = 0; i < 3; ++i) {
        const auto res = allocate(http, unique_participant("expiry"));
        ASSERT_EQ(res.status, 201) << res.body;
        held.push_back(res.json["sandbox_id"].get<std::string>());
    }
    // Lab duration + grace is 3 s: a second before, the expiry job leaves them; at 3 s it takes
    // them back, and cleanup (every second) deletes them at its next run.
    clock.advance(2s);
    ASSERT_TRUE(wait_until([&] { return job_last_finished(http, "auto_expiry") == clock.now(); }, 10s));
    EXPECT_EQ(admin_stats(http)["allocated"], 3);
    clock.advance(1s);
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["allocated"] == 0; }, 10s))
        << admin_stats(http).dump();
    // Cleanup deletes them in the same step (when it ran after the expiry) or at the next.
    clock.advance(1s);
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["deleted"] == 3; }, 10s))
        << admin_stats(http).dump();
    EXPECT_EQ(sim_deleted(sim), 3);
    EXPECT_EQ(admin_stats(http)["allocated"], 0);
    for (const auto& id : held) {
        const auto detail = admin_get(http, "/v1/admin/sandboxes/" + id);
        ASSERT_EQ(detail.status, 200);
        bool expired_by_job = false;
        for (const auto& event : detail.json["history"]) {
            expired_by_job |= event["to"] == "pending_deletion" && event["actor"] == "auto_expiry";
        }
        EXPECT_TRUE(expired_by_job) << detail.json["history"].dump();
    }
}

TEST(JobsCleanup, PausedCleanupDeletesNothingUntilResumed) {
    SimProcess sim(sim_flags(8));
    TestClock clock;
    SimBroker broker(jobs_env(sim), clock.flags());
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 8; }, 10s));

    const auto paused = admin_post(http, "/v1/admin/jobs/cleanup/pause");
    ASSERT_EQ(paused.status, 200) << paused.body;
    EXPECT_EQ(paused.json["paused"], true);
    EXPECT_TRUE(paused.json["next_run_at"].is_null());
    const auto returned = allocate_and_return(http, 5, "paused");
    ASSERT_EQ(returned.size(), 5u);

    // Cleanup's interval is one second: three intervals pass without a delete (auto_expiry, on
    // the same interval, running at each tells that the worker looked).
    for (int i = 0; i < 3; ++i) {
        clock.advance(1s);
        ASSERT_TRUE(wait_until([&] { return job_last_finished(http, "auto_expiry") == clock.now(); }, 10s));
    }
    EXPECT_EQ(sim.stats()["delete_calls"], 0);
    EXPECT_EQ(admin_stats(http)["pending_deletion"], 5);
    const auto refused = admin_post(http, "/v1/admin/cleanup");
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_EQ(error_code(refused), "JOB_PAUSED");

    const auto jobs = admin_get(http, "/v1/admin/jobs");
    ASSERT_EQ(jobs.status, 200);
    for (const auto& job : jobs.json["jobs"]) {
        EXPECT_EQ(job["paused"], job["name"] == "cleanup") << job.dump();
    }

    ASSERT_EQ(admin_post(http, "/v1/admin/jobs/cleanup/resume").status, 200);
    ASSERT_TRUE(wait_until([&] { return sim_deleted(sim) == 5; }, 10s)) << sim.stats().dump();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["deleted"] == 5; }, 5s));
}

TEST(JobsCleanup, CleanupRunNowReportsWhatItDid) {
    SimProcess sim(sim_flags(6));
    Environment env = jobs_env(sim);
    env["CLEANUP_INTERVAL_SEC"] = "600";  // only the run asked for below deletes
    SimBroker broker(env);
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 6; }, 10s));
    // Let the start-up run of cleanup (nothing to do) finish and release its lease.
    ASSERT_TRUE(wait_until(
        [&] {
            const auto jobs = admin_get(http, "/v1/admin/jobs").json["jobs"];
            for (const auto& job : jobs) {
                if (job["name"] == "cleanup")
                    return !job["last_finished_at"].is_null() && !job["running"].get<bool>();
            }
            return false;
        },
        10s));
    allocate_and_return(http, 2, "runnow");

    // Answered at once with the run's id; its record gives the result once it finished.
    const auto run_id = admin_post(http, "/v1/admin/cleanup");
    ASSERT_EQ(run_id.status, 202) << run_id.body;
    const std::string run_url = "/v1/admin/jobs/cleanup/runs/" + run_id.json["run_id"].dump();
    ASSERT_TRUE(wait_until([&] { return admin_get(http, run_url).json["status"] == "finished"; }, 10s));
    const auto run = admin_get(http, run_url);
    EXPECT_EQ(run.json["result"]["job"], "cleanup");
    EXPECT_EQ(run.json["result"]["counts"]["deleted"], 2) << run.body;
    EXPECT_EQ(sim_deleted(sim), 2);

    const auto jobs = admin_get(http, "/v1/admin/jobs");
    for (const auto& job : jobs.json["jobs"]) {
        if (job["name"] != "cleanup") continue;
        EXPECT_EQ(job["last_result"]["counts"]["deleted"], 2) << job.dump();
        EXPECT_EQ(job["interval_sec"], 600);
        EXPECT_EQ(job["runs_here"], true);
    }
}

}  // namespace
}  // namespace broker::e2e
