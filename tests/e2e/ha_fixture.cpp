// Schemas, a private cluster and broker roles for the high-availability tests: see ha_fixture.hpp.
#include "e2e/ha_fixture.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <pqxx/pqxx>
#include <stdexcept>
#include <thread>

namespace broker::e2e {
namespace {

std::string describe(const std::string& what, const CommandResult& result) {
    return what + " exited with status " + std::to_string(result.exit_code) +
           (result.timed_out ? " (timed out)" : "") + "\n--- stdout ---\n" + result.out +
           "\n--- stderr ---\n" + result.err;
}

// Like run_broker_command, for any program.
CommandResult run_program(const std::vector<std::string>& argv, const Environment& env,
                          const std::filesystem::path& cwd, std::chrono::milliseconds timeout) {
    ChildProcess child(argv, env, cwd);
    CommandResult result;
    auto status = child.wait_exit(timeout);
    if (!status) {
        result.timed_out = true;
        status = child.terminate(std::chrono::seconds(2));
    }
    result.exit_code = *status;
    result.out = child.out();
    result.err = child.err();
    return result;
}

std::string pg_bin() {
    const char* bin = std::getenv("BROKER_PG_BIN");
    return bin && *bin ? bin : "/usr/lib/postgresql/15/bin";
}

}  // namespace

std::optional<std::string> test_postgres_url() {
    const char* url = std::getenv("BROKER_TEST_POSTGRES_URL");
    if (!url || !*url) return std::nullopt;
    return std::string(url);
}

PgDatabase::PgDatabase(std::string url, std::string schema)
    : url_(std::move(url)), schema_(std::move(schema)) {}

Environment PgDatabase::env(const Environment& extra) const {
    Environment env = serving_env();
    if (!schema_.empty()) env["DB_SCHEMA"] = schema_;
    for (const auto& [key, value] : extra) env[key] = value;
    return env;
}

std::vector<std::vector<std::string>> PgDatabase::query(const std::string& sql) const {
    pqxx::connection conn(url_);
    pqxx::nontransaction tx(conn);
    if (!schema_.empty()) tx.exec("SET search_path TO " + tx.quote_name(schema_));
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : tx.exec(sql)) {
        std::vector<std::string> cells;
        for (const auto& field : row) cells.push_back(field.is_null() ? "" : field.c_str());
        rows.push_back(std::move(cells));
    }
    return rows;
}

long long PgDatabase::scalar(const std::string& sql) const {
    const auto rows = query(sql);
    if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error("not one value: " + sql);
    return std::stoll(rows[0][0]);
}

void PgDatabase::migrate_and_import(const std::vector<PoolEntry>& pool,
                                    const std::filesystem::path& dir) const {
    const auto migrated = run_broker_command({"migrate", "--store", url_}, env(), dir);
    if (migrated.exit_code != 0) throw std::runtime_error(describe("migrate", migrated));
    const auto file = dir / "pool.json";
    std::ofstream(file) << csp_accounts_json(pool);
    const auto imported =
        run_broker_command({"import", file.string(), "--store", url_}, env(), dir, std::chrono::seconds(60));
    if (imported.exit_code != 0) throw std::runtime_error(describe("import", imported));
}

namespace {

std::string new_schema_name() {
    static std::atomic<int> counter{0};
    return "ha_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

std::string created_schema(const std::string& url) {
    const std::string name = new_schema_name();
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(name) + " CASCADE");
    tx.exec("CREATE SCHEMA " + tx.quote_name(name));
    return name;
}

}  // namespace

PgSchema::PgSchema(const std::string& url) : PgDatabase(url, created_schema(url)) {}

PgSchema::~PgSchema() {
    try {
        pqxx::connection conn(url());
        pqxx::nontransaction tx(conn);
        tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema()) + " CASCADE");
    } catch (const std::exception&) {
        // The suite's cluster is thrown away after the run; a schema left behind costs nothing.
    }
}

PrivateCluster::PrivateCluster() : state_(dir_.path() / "pg") {
    // The server may run as another user (root may not run PostgreSQL): it must reach its directory.
    std::filesystem::permissions(
        dir_.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                         std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                         std::filesystem::perms::others_exec);
    const auto started = script("start");
    if (started.exit_code != 0) throw std::runtime_error(describe("pg-test-cluster.sh start", started));
    url_ = started.out.substr(0, started.out.find('\n'));
    if (url_.rfind("postgresql://", 0) != 0)
        throw std::runtime_error(describe("pg-test-cluster.sh start", started));
}

PrivateCluster::~PrivateCluster() {
    script("stop");
}

CommandResult PrivateCluster::script(const std::string& verb) const {
    Environment env{{"BROKER_PG_DIR", state_.string()}};
    if (const char* bin = std::getenv("BROKER_PG_BIN")) env["BROKER_PG_BIN"] = bin;
    return run_program({"/bin/bash", std::string(BROKER_SOURCE_DIR) + "/scripts/pg-test-cluster.sh", verb},
                       env, dir_.path(), std::chrono::seconds(90));
}

// pg_ctl as the owner of the data directory: the script runs the server as a system user
// when the tests run as root.
CommandResult PrivateCluster::pg_ctl(const std::vector<std::string>& args) const {
    const auto data = state_ / "data";
    std::vector<std::string> argv;
    struct stat info {};
    if (::geteuid() == 0 && ::stat(data.c_str(), &info) == 0 && info.st_uid != 0) {
        const passwd* owner = ::getpwuid(info.st_uid);
        if (!owner) throw std::runtime_error("no user for the owner of " + data.string());
        argv = {"/usr/sbin/runuser", "-u", owner->pw_name, "--"};
    }
    argv.push_back(pg_bin() + "/pg_ctl");
    argv.push_back("-D");
    argv.push_back(data.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, {}, "/", std::chrono::seconds(60));
}

void PrivateCluster::stop_server(const std::string& mode) {
    const auto result = pg_ctl({"-m", mode, "-w", "-t", "30", "stop"});
    if (result.exit_code != 0) throw std::runtime_error(describe("pg_ctl stop", result));
}

void PrivateCluster::start_server() {
    const auto log = (state_ / "server.log").string();
    const auto result = pg_ctl({"-l", log, "-w", "-t", "30", "start"});
    if (result.exit_code != 0) throw std::runtime_error(describe("pg_ctl start", result));
}

namespace {

std::vector<std::string> role_command(const std::string& role, const std::string& store_url,
                                      const std::vector<std::string>& flags) {
    std::vector<std::string> argv{BROKER_BINARY, role, "--store", store_url};
    if (role != "worker") {
        argv.push_back("--listen");
        argv.push_back("127.0.0.1:0");
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
}

}  // namespace

BrokerRole::BrokerRole(const std::string& role, const std::string& store_url, const Environment& env,
                       const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                       const std::vector<std::string>& flags)
    : child_(role_command(role, store_url, flags), env, cwd) {
    static const std::string kListening = "listening on http://";
    const std::string needle = role == "worker" ? "worker " : kListening;
    const auto line = child_.wait_for_line(needle, timeout);
    if (!line) {
        const int status = child_.terminate(std::chrono::seconds(2));
        throw std::runtime_error("sandbox-broker " + role + " did not start (status " +
                                 std::to_string(status) + ")\n--- stdout ---\n" + child_.out() +
                                 "\n--- stderr ---\n" + child_.err());
    }
    if (role != "worker") {
        const auto address = line->substr(line->find(kListening) + kListening.size());
        port_ = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
    }
}

BrokerRole::~BrokerRole() {
    child_.terminate(std::chrono::seconds(5));
}

void BrokerRole::kill9() {
    ::kill(child_.pid(), SIGKILL);
    child_.wait_exit(std::chrono::seconds(10));
}

int BrokerRole::stop() {
    return child_.terminate(std::chrono::seconds(5));
}

Environment fast_jobs_settings(const std::string& provider_url, const std::string& token,
                               int sync_interval_sec) {
    return {
        {"CSP_BASE_URL", provider_url},
        {"CSP_API_TOKEN", token},
        {"SYNC_INTERVAL_SEC", std::to_string(sync_interval_sec)},
        {"CLEANUP_INTERVAL_SEC", "1"},
        {"AUTO_EXPIRY_INTERVAL_SEC", "1"},
        {"CLEANUP_BATCH_SIZE", "25"},
        {"CLEANUP_BATCH_DELAY_SEC", "0"},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0"},
        {"CLEANUP_CLAIM_LEASE_SEC", "5"},
        {"JOB_LEASE_SEC", "5"},
        {"WORKER_POLL_MS", "100"},
        {"PROVIDER_RATE_LIMIT_RPS", "0"},
        {"STORE_THREADS", "8"},
    };
}

void run_together(int n, const std::function<void(int)>& fn) {
    std::latch ready(n);
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            ready.arrive_and_wait();
            fn(i);
        });
    }
    for (auto& thread : threads) thread.join();
}

}  // namespace broker::e2e
