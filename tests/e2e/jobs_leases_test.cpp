// Leases with their default lengths, end to end: a `worker` killed with SIGKILL in the middle
// of a cleanup and started again deletes every returned sandbox once the killed worker's
// leases ran out (31 s of the test clock after the kill), each exactly once at the provider
// (the real simulator counts). Nothing here shortens a lease or an interval: the default
// leases, renewed by a heartbeat while a run goes on, are what is under test. A `serve` and a
// `worker` share a PostgreSQL store and a test clock, as in a deployment. The run asked for
// through `serve` (202 with a run id) is followed to its end.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <set>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::int64_t sim_deleted(const SimProcess& sim) {
    return sim.stats()["deleted"].get<std::int64_t>();
}

TEST(JobsLeases, AKilledWorkersCleanupIsFinishedWithinTwoMinutesWithDefaultLeases) {
    // A `serve` and a `worker` share the store: PostgreSQL (a SQLite file admits one process).
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    PgSchema db(*url);
    constexpr int kReturned = 30;
    SimProcess sim(sim_flags(kReturned + 5));
    TempDir dir;
    const std::string store = db.url();
    // The provider, the tokens and the store only: every job and lease setting is its default.
    Environment env = db.env(serving_env());
    env["CSP_BASE_URL"] = sim.url() + "/v2";
    env["CSP_API_TOKEN"] = kSimToken;
    TestClock clock;

    auto worker = std::make_unique<WorkerProcess>(store, env, dir.path(), 10s, clock.flags());
    ChildProcess serve(
        {BROKER_BINARY, "serve", "--listen", "127.0.0.1:0", "--store", store, clock.flags()[0]}, env,
        dir.path());
    const auto line = serve.wait_for_line("listening on http://", 10s);
    ASSERT_TRUE(line) << serve.err();
    HttpClient http("127.0.0.1", static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1))));
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == kReturned + 5; }, 15s))
        << "the start-up sync";

    std::set<std::string> returned;
    for (int i = 0; i < kReturned; ++i) {
        const std::string participant = unique_participant("heal");
        const auto res = allocate(http, participant);
        ASSERT_EQ(res.status, 201) << res.body;
        const std::string id = res.json["sandbox_id"].get<std::string>();
        ASSERT_EQ(mark_for_deletion(http, id, participant).status, 200);
        returned.insert(id);
    }
    // Cleanup's default interval is 300 s: ask for the run that deletes them.
    const auto asked = admin_post(http, "/v1/admin/cleanup");
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string run_url = asked.json["status_url"].get<std::string>();

    // SIGKILL in the middle of the run (defaults: batches of 10, 0.5 s between deletions).
    ASSERT_TRUE(wait_until([&] { return sim_deleted(sim) >= 5; }, 30s)) << sim.stats().dump();
    ::kill(worker->pid(), SIGKILL);
    const auto killed_at = SteadyClock::now();
    worker.reset();
    const auto deleted_at_kill = sim_deleted(sim);
    ASSERT_LT(deleted_at_kill, kReturned) << "the kill came after the cleanup had finished";
    const auto running = admin_get(http, run_url);
    EXPECT_EQ(running.json["status"], "running") << running.body;

    worker = std::make_unique<WorkerProcess>(store, env, dir.path(), 10s, clock.flags());
    // The killed worker's job lease and claims (30 s each by default) hold it back until
    // they run out: the clock passes them, and the restarted worker takes the run over.
    clock.advance(31s);
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["deleted"] == kReturned; }, 120s))
        << admin_stats(http).dump() << "\nsim: " << sim.stats().dump();
    const double healed = std::chrono::duration<double>(SteadyClock::now() - killed_at).count();

    const auto sim_stats = sim.stats();
    EXPECT_EQ(sim_stats["deleted"], kReturned) << "each returned sandbox deleted once at the provider";
    const auto stats = admin_stats(http);
    EXPECT_EQ(stats["pending_deletion"], 0);
    EXPECT_EQ(stats["available"], 5);
    for (const auto& id : returned) {
        const auto detail = admin_get(http, "/v1/admin/sandboxes/" + id);
        ASSERT_EQ(detail.status, 200);
        EXPECT_EQ(detail.json["status"], "deleted");
        int to_deleted = 0;
        for (const auto& event : detail.json["history"]) to_deleted += event["to"] == "deleted";
        EXPECT_EQ(to_deleted, 1) << detail.json["history"].dump();
    }
    // The run asked for was taken over with the job and finished by the restarted worker.
    ASSERT_TRUE(wait_until([&] { return admin_get(http, run_url).json["status"] == "finished"; }, 10s));
    const auto finished = admin_get(http, run_url);
    EXPECT_NE(finished.json["holder"], running.json["holder"]) << finished.body;
    std::cout << "[ figures  ] default leases: killed after " << deleted_at_kill << " of " << kReturned
              << " deletions; all deleted " << healed << " s (machine time) after the kill; delete calls "
              << sim_stats["delete_calls"] << ", of which 404 " << sim_stats["delete_not_found"] << std::endl;

    EXPECT_EQ(serve.terminate(5s), 0) << serve.err();
    EXPECT_EQ(worker->stop(), 0) << worker->err();
}

}  // namespace
}  // namespace broker::e2e
