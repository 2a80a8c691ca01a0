// What the high-availability end-to-end tests share: a PostgreSQL schema of the test's own
// on the suite's server, a private PostgreSQL cluster a test may stop and start, `serve`
// replicas and `worker`s of the real binary on one store, and a helper that runs a function
// on many threads at once. The tests skip (with the reason) when BROKER_TEST_POSTGRES_URL is
// unset; scripts/test.sh sets it.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/broker_fixture.hpp"
#include "e2e/broker_process.hpp"
#include "e2e/http_client.hpp"

namespace broker::e2e {

// BROKER_TEST_POSTGRES_URL, or nothing when it is unset or empty.
std::optional<std::string> test_postgres_url();

// The reason a PostgreSQL test skips when there is no server.
inline const char* const kNoPostgres =
    "BROKER_TEST_POSTGRES_URL is not set: no PostgreSQL server to run the high-availability tests on "
    "(scripts/test.sh starts one; by hand: export BROKER_TEST_POSTGRES_URL=$(scripts/pg-test-cluster.sh "
    "start))";

// One database as the broker processes of a test see it: a URL and, optionally, a schema.
// `query` and `scalar` read it directly (not through the broker) so tests can check what
// was really committed.
class PgDatabase {
  public:
    PgDatabase(std::string url, std::string schema);
    virtual ~PgDatabase() = default;

    const std::string& url() const { return url_; }
    const std::string& schema() const { return schema_; }

    // serving_env() plus DB_SCHEMA and `extra` (which wins).
    Environment env(const Environment& extra = {}) const;

    // Rows of `sql` as text (NULL as ""), run in the schema.
    std::vector<std::vector<std::string>> query(const std::string& sql) const;
    // The single number `sql` returns.
    long long scalar(const std::string& sql) const;

    // `sandbox-broker migrate`, then `import` of `pool`; throws with the output on failure.
    void migrate_and_import(const std::vector<PoolEntry>& pool, const std::filesystem::path& dir) const;

  private:
    std::string url_;
    std::string schema_;
};

// A schema of its own on a shared server, dropped with everything in it at the end.
class PgSchema : public PgDatabase {
  public:
    explicit PgSchema(const std::string& url);
    ~PgSchema() override;
    PgSchema(const PgSchema&) = delete;
    PgSchema& operator=(const PgSchema&) = delete;
};

// A PostgreSQL cluster of the test's own (scripts/pg-test-cluster.sh with a private
// BROKER_PG_DIR), so the test may stop and start its server. Removed at the end.
class PrivateCluster {
  public:
    PrivateCluster();  // throws with the script's output when the cluster does not start
    ~PrivateCluster();
    PrivateCluster(const PrivateCluster&) = delete;
    PrivateCluster& operator=(const PrivateCluster&) = delete;

    const std::string& url() const { return url_; }

    // pg_ctl stop -m <mode>: "fast" ends the sessions and shuts down cleanly; "immediate"
    // kills every server process, as a crash would (recovery replays the WAL at start).
    void stop_server(const std::string& mode = "fast");
    // pg_ctl start -w on the same data directory and port.
    void start_server();

  private:
    CommandResult script(const std::string& verb) const;
    CommandResult pg_ctl(const std::vector<std::string>& args) const;

    TempDir dir_;
    std::filesystem::path state_;
    std::string url_;
};

// `sandbox-broker serve` or `worker` as a child process on a store. Stops it at the end
// (SIGTERM, then SIGKILL); `kill9` ends it the hard way.
class BrokerRole {
  public:
    // Starts `sandbox-broker <role> --store <store_url> [--listen 127.0.0.1:0]` and waits for
    // the line that says it is up ("listening on" for serve, "worker" for worker); throws with
    // its output when that line does not come within `timeout`.
    // `flags` go after the usual ones (a TestClock's, say).
    BrokerRole(const std::string& role, const std::string& store_url, const Environment& env,
               const std::filesystem::path& cwd, std::chrono::milliseconds timeout = std::chrono::seconds(15),
               const std::vector<std::string>& flags = {});
    ~BrokerRole();

    unsigned short port() const { return port_; }
    pid_t pid() const { return child_.pid(); }
    // A new keep-alive connection to this replica.
    HttpClient client(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        return HttpClient("127.0.0.1", port_, timeout);
    }
    // SIGKILL and reap: no shutdown of any kind runs.
    void kill9();
    // SIGTERM and wait; the exit status.
    int stop();
    std::string err() const { return child_.err(); }

  private:
    ChildProcess child_;
    unsigned short port_ = 0;
};

// The settings of a deployment's workers in these tests: the provider at `provider_url`
// (a simulator) with `token`, sync every `sync_interval_sec`, cleanup and expiry every second
// without delays, short leases so a killed worker's work passes on, a fast poll.
Environment fast_jobs_settings(const std::string& provider_url, const std::string& token,
                               int sync_interval_sec);

// Runs `fn(i)` for i in [0, n) on n threads released together; returns when all are done.
void run_together(int n, const std::function<void(int)>& fn);

}  // namespace broker::e2e
