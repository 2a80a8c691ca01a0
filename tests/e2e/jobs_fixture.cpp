// Simulator-backed brokers, workers and admin requests for the jobs and admin tests.
#include "e2e/jobs_fixture.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "e2e/hang_bound.hpp"

namespace broker::e2e {

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + hang_bound(limit);
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<std::string> sim_flags(int sandboxes, const std::vector<std::string>& extra) {
    std::vector<std::string> flags{
        "--sandboxes", std::to_string(sandboxes), "--name-prefix", "e2e-", "--token", kSimToken};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
}

Environment jobs_env(const SimProcess& sim) {
    Environment env = serving_env();
    env.insert({
        {"CSP_BASE_URL", sim.url() + "/v2"},
        {"CSP_API_TOKEN", kSimToken},
        {"SYNC_INTERVAL_SEC", "600"},
        {"CLEANUP_INTERVAL_SEC", "1"},
        {"AUTO_EXPIRY_INTERVAL_SEC", "1"},
        {"CLEANUP_BATCH_SIZE", "5"},
        {"CLEANUP_BATCH_DELAY_SEC", "0"},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0"},
        {"DELETION_RETRY_BASE_SEC", "1"},
        {"DELETION_RETRY_MAX_ATTEMPTS", "10"},
        {"DELETION_FAILED_RETRY_SEC", "2"},
        {"CLEANUP_CLAIM_LEASE_SEC", "2"},
        {"JOB_LEASE_SEC", "3"},
        {"WORKER_POLL_MS", "100"},
        {"PROVIDER_RATE_LIMIT_RPS", "0"},
        {"PROVIDER_BACKOFF_BASE_MS", "10"},
        {"PROVIDER_BACKOFF_CAP_MS", "50"},
        {"CIRCUIT_BREAKER_TIMEOUT_SEC", "1"},
        {"CSP_TIMEOUT_READ_SEC", "5"},
    });
    return env;
}

namespace {

std::vector<std::string> worker_command(const std::string& store_url, const std::vector<std::string>& flags) {
    std::vector<std::string> args{BROKER_BINARY, "worker", "--store", store_url};
    args.insert(args.end(), flags.begin(), flags.end());
    return args;
}

}  // namespace

WorkerProcess::WorkerProcess(const std::string& store_url, const Environment& env,
                             const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                             const std::vector<std::string>& flags)
    : child_(worker_command(store_url, flags), env, cwd) {
    if (!child_.wait_for_line(" started on ", timeout)) {
        const int status = child_.terminate(std::chrono::seconds(2));
        throw std::runtime_error("worker did not start (status " + std::to_string(status) +
                                 ")\n--- stderr ---\n" + child_.err());
    }
}

SimBroker::SimBroker(Environment env, std::vector<std::string> flags)
    : env_(std::move(env)), flags_(std::move(flags)) {
    start();
}

SimBroker::~SimBroker() {
    if (!process_) return;
    const int status = process_->stop();
    if (status != 0) {
        ADD_FAILURE() << "broker exited with status " << status
                      << " (expected 0 on SIGTERM)\n--- stderr ---\n"
                      << process_->err();
    }
}

void SimBroker::start() {
    process_ =
        std::make_unique<BrokerProcess>(store_url(), env_, dir_.path(), std::chrono::seconds(10), flags_);
}

int SimBroker::stop() {
    return process_->stop();
}

void SimBroker::kill_hard() {
    ::kill(process_->pid(), SIGKILL);
    process_->stop(std::chrono::seconds(5));  // reaps it
}

Headers admin_headers() {
    return {{"Authorization", "Bearer " + kAdminToken}};
}

HttpResponse admin_get(HttpClient& client, const std::string& target) {
    return client.get(target, admin_headers());
}

HttpResponse admin_post(HttpClient& client, const std::string& target) {
    return client.post(target, admin_headers());
}

nlohmann::json admin_stats(HttpClient& client) {
    const auto res = admin_get(client, "/v1/admin/stats");
    EXPECT_EQ(res.status, 200) << res.body;
    return res.status == 200 ? res.json : nlohmann::json();
}

long job_last_finished(HttpClient& client, const std::string& job) {
    const auto jobs = admin_get(client, "/v1/admin/jobs");
    if (jobs.status != 200) return 0;
    for (const auto& entry : jobs.json["jobs"]) {
        if (entry["name"] == job && entry["last_finished_at"].is_number())
            return entry["last_finished_at"].get<long>();
    }
    return 0;
}

std::vector<std::string> list_all_ids(HttpClient& client, const std::string& query, int limit) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < 10000; ++page) {
        std::string target = "/v1/admin/sandboxes?limit=" + std::to_string(limit);
        if (!query.empty()) target += "&" + query;
        if (!cursor.empty()) target += "&cursor=" + cursor;
        const auto res = admin_get(client, target);
        EXPECT_EQ(res.status, 200) << res.body;
        if (res.status != 200) break;
        EXPECT_LE(res.json["sandboxes"].size(), static_cast<std::size_t>(limit));
        for (const auto& s : res.json["sandboxes"]) ids.push_back(s["sandbox_id"].get<std::string>());
        if (res.json["next_cursor"].is_null()) break;
        cursor = res.json["next_cursor"].get<std::string>();
    }
    return ids;
}

}  // namespace broker::e2e
