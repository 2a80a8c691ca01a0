// What a container platform sees of the real binary: `healthcheck` (exit 0 or 1 with one line),
// the drain on SIGTERM (/readyz answers 503 for SHUTDOWN_DRAIN_SEC while everything else is
// still served, a second signal cuts it short, exit 0), and a worker that serves /healthz and
// /metrics on METRICS_LISTEN.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "e2e/broker_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "e2e/test_clock.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

CommandResult healthcheck(const Environment& env, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"healthcheck"};
    args.insert(args.end(), extra.begin(), extra.end());
    TempDir cwd;  // no .env there
    return run_broker_command(args, env, cwd.path(), 10s);
}

std::string listen_of(const BrokerProcess& process) {
    return process.host() + ":" + std::to_string(process.port());
}

int readyz_status(const BrokerProcess& process) {
    HttpClient client(process.host(), process.port(), 30s);
    return client.get("/readyz").status;
}

TEST(Healthcheck, ExitsZeroWhenHealthyAndOneWithTheReasonOtherwise) {
    BrokerInstance broker(sandboxes("hc-", 2, 9100));
    const Environment env = {{"BROKER_LISTEN", listen_of(broker.process())}};
    const auto healthy = healthcheck(env);
    EXPECT_EQ(healthy.exit_code, 0) << healthy.out << healthy.err;
    EXPECT_EQ(
        healthy.out.rfind("healthy: GET http://" + listen_of(broker.process()) + "/healthz answered 200", 0),
        0u)
        << healthy.out;

    const auto not_found =
        healthcheck(env, {"--url", "http://" + listen_of(broker.process()) + "/no-such-route"});
    EXPECT_EQ(not_found.exit_code, 1) << not_found.out;
    EXPECT_NE(not_found.out.find("unhealthy: GET "), std::string::npos) << not_found.out;
    EXPECT_NE(not_found.out.find(" answered 404"), std::string::npos) << not_found.out;

    EXPECT_EQ(broker.stop(), 0);
    const auto gone = healthcheck(env);
    EXPECT_EQ(gone.exit_code, 1) << gone.out;
    EXPECT_EQ(gone.out.rfind("unhealthy: GET http://" + listen_of(broker.process()) + "/healthz failed", 0),
              0u)
        << gone.out;

    // A setting it cannot read is "unhealthy" too, never exit 2 (which Docker reserves).
    const auto bad = healthcheck({{"BROKER_LISTEN", "nowhere"}});
    EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
    EXPECT_NE(bad.out.find("unhealthy: listen address \"nowhere\""), std::string::npos) << bad.out;
}

TEST(ShutdownDrain, ReadyzAnswers503WhileEverythingElseIsServedThenExitsZero) {
    // A drain of 10 minutes on the test clock: it lasts until the test moves the clock past it.
    Environment env = serving_env();
    env["SHUTDOWN_DRAIN_SEC"] = "600";
    TestClock clock;
    BrokerInstance broker(sandboxes("drain-", 4, 9200), env, clock.flags());
    auto& process = broker.process();
    ASSERT_EQ(readyz_status(process), 200);
    // A kept-alive connection from before the signal, like a balancer's or a client's pool.
    HttpClient kept(process.host(), process.port(), 30s);
    ASSERT_EQ(kept.get("/healthz").status, 200);

    ASSERT_EQ(::kill(process.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return readyz_status(process) == 503; }, 60s)) << "readyz never turned 503";
    const auto readyz = HttpClient(process.host(), process.port(), 2s).get("/readyz");
    EXPECT_EQ(error_code(readyz), "SERVICE_UNAVAILABLE") << readyz.body;
    // Still serving, on new connections and on the kept one: participants are not cut off.
    EXPECT_EQ(kept.get("/healthz").status, 200);
    auto fresh = broker.client();
    const auto allocated = allocate(fresh, unique_participant("drain"));
    EXPECT_EQ(allocated.status, 201) << allocated.body;
    EXPECT_TRUE(process.running()) << "stopped before the drain ended";

    // The drain ends by itself once its time has passed (no second signal), then the graceful stop.
    clock.advance(600s);
    ASSERT_TRUE(wait_until([&] { return !process.running(); }, 60s)) << "still running after the drain";
    EXPECT_EQ(broker.stop(), 0) << process.err();  // the status it exited with
}

TEST(ShutdownDrain, ASecondSignalCutsTheDrainShort) {
    Environment env = serving_env();
    env["SHUTDOWN_DRAIN_SEC"] = "600";
    BrokerInstance broker(sandboxes("cut-", 1, 9300), env);
    auto& process = broker.process();
    ASSERT_EQ(::kill(process.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return readyz_status(process) == 503; }, 60s));
    ASSERT_EQ(::kill(process.pid(), SIGTERM), 0);
    EXPECT_TRUE(wait_until([&] { return !process.running(); }, 60s)) << "the drain was not cut short";
    EXPECT_EQ(broker.stop(), 0) << process.err();
}

TEST(ShutdownDrain, ABadValueStopsStartUpNamingTheSetting) {
    TempDir dir;
    Environment env = serving_env();
    env["SHUTDOWN_DRAIN_SEC"] = "later";
    const auto result = run_broker_command(
        {"serve", "--listen", "127.0.0.1:0", "--store", "sqlite:" + (dir.path() / "b.db").string()}, env,
        dir.path());
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("SHUTDOWN_DRAIN_SEC"), std::string::npos) << result.err;
}

TEST(WorkerListener, ServesHealthzAndMetricsOnMetricsListen) {
    SimProcess sim(sim_flags(3));
    TempDir dir;
    Environment env = jobs_env(sim);
    env["METRICS_LISTEN"] = "127.0.0.1:0";
    ChildProcess worker({BROKER_BINARY, "worker", "--store", "sqlite:" + (dir.path() / "w.db").string()}, env,
                        dir.path());
    const auto line = worker.wait_for_line("metrics listening on http://", 10s);
    ASSERT_TRUE(line) << worker.err();
    ASSERT_TRUE(worker.wait_for_line(" started on ", 10s)) << worker.err();
    const std::string listen = line->substr(line->find("http://") + 7);
    const auto port = static_cast<unsigned short>(std::stoi(listen.substr(listen.rfind(':') + 1)));

    HttpClient http("127.0.0.1", port);
    EXPECT_EQ(http.get("/healthz").status, 200);
    // The synced pool is what the worker's scrape reports.
    ASSERT_TRUE(wait_until([&] { return sim.stats()["list_calls"].get<int>() >= 1; }, 5s));
    const auto metrics = http.get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.body;
    EXPECT_NE(metrics.body.find("# TYPE "), std::string::npos) << metrics.body;
    EXPECT_EQ(http.get("/readyz").status, 404) << "the worker has no API routes";

    const auto check = healthcheck({{"METRICS_LISTEN", listen}, {"BROKER_LISTEN", "127.0.0.1:1"}});
    EXPECT_EQ(check.exit_code, 0) << check.out;
    EXPECT_EQ(worker.terminate(5s), 0) << worker.err();
}

}  // namespace
}  // namespace broker::e2e
