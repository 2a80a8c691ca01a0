// `sandbox-broker worker` end to end: two workers on one PostgreSQL store run sync once per
// interval between them (the simulator's list_calls tells), an API-only `serve` on the same
// store hands a run request to them, a second process on one SQLite file is refused,
// configuration errors name the variable, and SIGTERM ends a worker promptly with status 0.
#include <gtest/gtest.h>

#include <map>

#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

// When the sync job last finished, as the store records it (0 before its first run).
const std::string kSyncFinished =
    "SELECT coalesce(max(last_finished_at), 0) FROM job_states WHERE job = 'sync'";

std::int64_t list_calls(const SimProcess& sim) {
    return sim.stats()["list_calls"].get<std::int64_t>();
}

TEST(JobsWorker, TwoWorkersOnOneStoreRunSyncOncePerInterval) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    PgSchema db(*url);
    SimProcess sim(sim_flags(10));
    TempDir dir;
    const std::string store = db.url();
    Environment env = db.env(jobs_env(sim));
    env["SYNC_INTERVAL_SEC"] = "2";
    TestClock clock;  // both workers read it

    // One after the other: the second must not race the first's schema creation.
    WorkerProcess a(store, env, dir.path(), 10s, clock.flags());
    ASSERT_TRUE(wait_until([&] { return list_calls(sim) == 1; }, 5s));
    WorkerProcess b(store, env, dir.path(), 10s, clock.flags());

    // Each 2 s interval the clock moves, both workers wake and one of them syncs: one list
    // call per interval. A worker syncing on its own would make two.
    constexpr int kIntervals = 4;
    for (int i = 1; i <= kIntervals; ++i) {
        clock.advance(2s);
        ASSERT_TRUE(wait_until([&] { return list_calls(sim) >= 1 + i; }, 10s)) << "interval " << i;
        // The sync's lease is finished before the next move, so neither worker still holds it.
        ASSERT_TRUE(wait_until([&] { return db.scalar(kSyncFinished) == clock.now(); }, 10s))
            << "interval " << i;
    }
    EXPECT_EQ(list_calls(sim), 1 + kIntervals) << "both workers ran sync in the same interval";

    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(a.stop(), 0) << a.err();
    EXPECT_EQ(b.stop(), 0) << b.err();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "SIGTERM must end a worker promptly";
}

TEST(JobsWorker, ServeHandsRunRequestsToTheWorkers) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    PgSchema db(*url);
    SimProcess sim(sim_flags(4));
    TempDir dir;
    const std::string store = db.url();
    Environment env = db.env(jobs_env(sim));
    env["WORKER_POLL_MS"] = "50";
    WorkerProcess worker(store, env, dir.path());
    ASSERT_TRUE(wait_until([&] { return list_calls(sim) == 1; }, 5s)) << "the start-up sync";

    ChildProcess serve({BROKER_BINARY, "serve", "--listen", "127.0.0.1:0", "--store", store}, env,
                       dir.path());
    const auto line = serve.wait_for_line("listening on http://", 10s);
    ASSERT_TRUE(line) << serve.err();
    const auto port = static_cast<unsigned short>(std::stoi(line->substr(line->rfind(':') + 1)));
    HttpClient http("127.0.0.1", port);

    const auto stats = admin_stats(http);
    EXPECT_EQ(stats["available"], 4) << "serve reads what the worker synced";
    // Waited for: the worker process runs it, and the run's record (in the store) tells serve.
    const auto run = admin_post(http, "/v1/admin/sync?wait=10");
    ASSERT_EQ(run.status, 200) << run.body;
    EXPECT_EQ(run.json["status"], "finished");
    EXPECT_EQ(run.json["result"]["counts"]["listed"], 4) << run.body;
    // The worker ran the requested sync. A request is served at least once, not exactly once:
    // when it lands while the worker's poll is starting the job (PostgreSQL's start statement
    // sees the request flag but not yet the queued run), that run consumes the flag and the
    // run is served by the next one, so one more list call is no fault.
    EXPECT_GE(list_calls(sim), 2) << "the worker ran the requested sync";
    EXPECT_LE(list_calls(sim), 3) << "more runs than one request explains";

    const auto jobs = admin_get(http, "/v1/admin/jobs");
    ASSERT_EQ(jobs.status, 200);
    for (const auto& job : jobs.json["jobs"]) EXPECT_EQ(job["runs_here"], false) << job.dump();

    EXPECT_EQ(serve.terminate(5s), 0) << serve.err();
    EXPECT_EQ(worker.stop(), 0) << worker.err();
}

// The embedded store serves one process: a worker (or a second broker) on a SQLite file that
// a running broker holds stops at once with a message saying so.
TEST(JobsWorker, ASecondProcessOnOneSqliteFileIsRefused) {
    SimProcess sim(sim_flags(2));
    TempDir dir;
    const std::string store = "sqlite:" + (dir.path() / "broker.db").string();
    const Environment env = jobs_env(sim);
    WorkerProcess first(store, env, dir.path());

    auto second = run_broker_command({"worker", "--store", store}, env, dir.path(), 10s);
    EXPECT_FALSE(second.timed_out);
    EXPECT_EQ(second.exit_code, 1) << second.err;
    EXPECT_NE(second.err.find("in use by another process (pid " + std::to_string(first.pid()) + ")"),
              std::string::npos)
        << second.err;
    auto serve =
        run_broker_command({"serve", "--listen", "127.0.0.1:0", "--store", store}, env, dir.path(), 10s);
    EXPECT_NE(serve.exit_code, 0);
    EXPECT_NE(serve.err.find("in use by another process"), std::string::npos) << serve.err;
    EXPECT_EQ(serve.out.find("listening on"), std::string::npos) << serve.out;

    // Once the first has stopped the file is free again.
    EXPECT_EQ(first.stop(), 0) << first.err();
    WorkerProcess again(store, env, dir.path());
    EXPECT_EQ(again.stop(), 0) << again.err();
}

TEST(JobsWorker, ConfigurationErrorsNameTheVariable) {
    TempDir dir;
    const std::string store = "sqlite:" + (dir.path() / "broker.db").string();
    Environment env = serving_env();

    auto result = run_broker_command({"worker", "--store", store}, env, dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("CSP_BASE_URL"), std::string::npos) << result.err;

    env["CSP_BASE_URL"] = "http://127.0.0.1:9/v2";
    result = run_broker_command({"worker", "--store", store}, env, dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("CSP_API_TOKEN"), std::string::npos) << result.err;

    // `run` with half a provider configuration refuses too, rather than silently not cleaning up.
    result = run_broker_command({"run", "--listen", "127.0.0.1:0", "--store", store}, env, dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("CSP_API_TOKEN"), std::string::npos) << result.err;

    env["CSP_API_TOKEN"] = "t";
    env["SYNC_INTERVAL_SEC"] = "soon";
    result = run_broker_command({"worker", "--store", store}, env, dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("SYNC_INTERVAL_SEC"), std::string::npos) << result.err;
}

TEST(JobsWorker, RunWithoutAProviderServesAndSaysTheProviderJobsAreOff) {
    TempDir dir;
    Environment env = serving_env();
    env["LOG_FORMAT"] = "text";
    BrokerProcess broker("sqlite:" + (dir.path() / "broker.db").string(), env, dir.path());
    HttpClient http(broker.host(), broker.port());
    EXPECT_EQ(http.get("/healthz").status, 200);
    EXPECT_TRUE(
        wait_until([&] { return broker.out().find("provider jobs disabled") != std::string::npos; }, 5s))
        << broker.out();

    const auto jobs = admin_get(http, "/v1/admin/jobs");
    ASSERT_EQ(jobs.status, 200);
    std::map<std::string, bool> here;
    for (const auto& job : jobs.json["jobs"]) here[job["name"]] = job["runs_here"];
    EXPECT_EQ(here, (std::map<std::string, bool>{{"sync", false},
                                                 {"cleanup", false},
                                                 {"auto_expiry", true},
                                                 {"auto_delete_stale", true},
                                                 {"pool_sample", true}}));
    EXPECT_EQ(broker.stop(), 0) << broker.err();
}

}  // namespace
}  // namespace broker::e2e
