// What the jobs and admin end-to-end tests share: a real `csp-sim` process, a broker (`run`)
// or `worker` process against it on a store in a temp dir, an environment with intervals
// short enough for tests, admin requests, and bounded waits on real time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/broker_fixture.hpp"
#include "e2e/broker_process.hpp"
#include "e2e/http_client.hpp"
#include "e2e/sim_process.hpp"

namespace broker::e2e {

inline const std::string kSimToken = "e2e-sim-csp-token-42";

// Polls `done` every 20 ms until it holds or `limit` (a minute at least) passes; true if it held.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit);

// A simulator with `sandboxes` active sandboxes named `e2e-NNNN`, requiring kSimToken.
std::vector<std::string> sim_flags(int sandboxes, const std::vector<std::string>& extra = {});

// serving_env() plus the provider (the simulator) and jobs on short intervals: sync 600 s
// (it runs once at start), cleanup and expiry every second, no cleanup delays, fast retries,
// a worker that polls every 100 ms and short leases so a killed process's work passes on.
Environment jobs_env(const SimProcess& sim);

// `sandbox-broker worker` on a store; waits for its "worker ... started" line.
class WorkerProcess {
  public:
    // `flags` go after the usual ones (a TestClock's, say).
    WorkerProcess(const std::string& store_url, const Environment& env, const std::filesystem::path& cwd,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  const std::vector<std::string>& flags = {});
    pid_t pid() const { return child_.pid(); }
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) { return child_.terminate(grace); }
    std::string err() const { return child_.err(); }

  private:
    ChildProcess child_;
};

// A broker (`run`) on its own store, started and restarted at will: what a test against the
// simulator needs. The destructor stops a running broker and fails the test on a non-zero exit.
class SimBroker {
  public:
    // `flags` go to `run` (a TestClock's, say).
    explicit SimBroker(Environment env, std::vector<std::string> flags = {});
    ~SimBroker();

    void start();
    int stop();
    // SIGKILL: no chance to finish anything (the crash the jobs must survive).
    void kill_hard();

    BrokerProcess& process() { return *process_; }
    std::string store_url() const { return "sqlite:" + (dir_.path() / "broker.db").string(); }
    const std::filesystem::path& dir() const { return dir_.path(); }
    HttpClient client() const {
        return HttpClient(process_->host(), process_->port(), std::chrono::seconds(30));
    }

  private:
    TempDir dir_;
    Environment env_;
    std::vector<std::string> flags_;
    std::unique_ptr<BrokerProcess> process_;
};

Headers admin_headers();
HttpResponse admin_get(HttpClient& client, const std::string& target);
HttpResponse admin_post(HttpClient& client, const std::string& target);
// GET /v1/admin/stats as JSON; fails the test (and returns null) unless it answers 200.
nlohmann::json admin_stats(HttpClient& client);
// When the job last finished a run (its last_finished_at in GET /v1/admin/jobs); 0 before its
// first run. Under a TestClock, equal to the clock's time once the job ran at it.
long job_last_finished(HttpClient& client, const std::string& job);
// Every sandbox id of GET /v1/admin/sandboxes, page by page with `limit`.
std::vector<std::string> list_all_ids(HttpClient& client, const std::string& query, int limit);

}  // namespace broker::e2e
