// Pool files, broker instances and participant requests shared by the end-to-end tests.
#include "e2e/broker_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <latch>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace broker::e2e {

std::vector<PoolEntry> sandboxes(const std::string& prefix, int count, long first_id) {
    std::vector<PoolEntry> pool;
    pool.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        long id = first_id + i;
        pool.push_back({id, prefix + std::to_string(i), "sfdc-" + std::to_string(id)});
    }
    return pool;
}

std::string csp_accounts_json(const std::vector<PoolEntry>& pool) {
    auto results = nlohmann::json::array();
    for (const auto& entry : pool) {
        char uuid[40];
        std::snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012ld", entry.csp_id);
        nlohmann::json account = {
            {"account_type", entry.account_type},
            {"state", entry.state},
            {"id", std::string("identity/accounts/") + uuid},
            {"name", entry.name},
            {"csp_id", entry.csp_id},
            {"created_at", "2025-03-27T16:53:47.605459Z"},
        };
        if (entry.sfdc_account_id) account["sfdc_account_id"] = *entry.sfdc_account_id;
        results.push_back(std::move(account));
    }
    return nlohmann::json{{"results", results}}.dump();
}

Environment serving_env() {
    return {
        {"BROKER_API_TOKEN", kApiToken},
        {"BROKER_ADMIN_TOKEN", kAdminToken},
        {"RATE_LIMIT_ENABLED", "false"},
        {"LOG_LEVEL", "warn"},
    };
}

BrokerInstance::BrokerInstance(const std::vector<PoolEntry>& pool, Environment env,
                               std::vector<std::string> flags)
    : env_(std::move(env)), flags_(std::move(flags)) {
    auto result = import(pool);
    initial_import_ = result;
    if (result.exit_code != 0) {
        throw std::runtime_error("import failed with status " + std::to_string(result.exit_code) +
                                 "\n--- stdout ---\n" + result.out + "\n--- stderr ---\n" + result.err);
    }
    start();
}

BrokerInstance::~BrokerInstance() {
    if (!process_) return;
    int status = process_->stop();  // the status it exited with, if it did already
    if (status != 0) {
        ADD_FAILURE() << "broker exited with status " << status
                      << " (expected 0 on SIGTERM)\n--- stderr ---\n"
                      << process_->err();
    }
}

CommandResult BrokerInstance::import(const std::vector<PoolEntry>& pool) {
    auto file = dir_.path() / ("pool-" + std::to_string(imports_++) + ".json");
    std::ofstream(file) << csp_accounts_json(pool);
    return run_broker_command({"import", file.string(), "--store", store_url()}, env_, dir_.path());
}

void BrokerInstance::start() {
    process_ =
        std::make_unique<BrokerProcess>(store_url(), env_, dir_.path(), std::chrono::seconds(10), flags_);
}

int BrokerInstance::stop() {
    int status = process_->stop();
    return status;
}

HttpClient BrokerInstance::client() const {
    return HttpClient(process_->host(), process_->port());
}

std::string logged_so_far(BrokerInstance& broker) {
    static std::atomic<int> counter{0};
    const std::string id = "log-flush-" + std::to_string(counter.fetch_add(1));
    auto client = broker.client();
    EXPECT_EQ(client.get("/healthz", {{"X-Request-ID", id}}).status, 200);
    EXPECT_TRUE(broker.process().wait_for_line("\"" + id + "\"", std::chrono::seconds(10)))
        << "the access-log line of request " << id << " was not written";
    return broker.process().out() + broker.process().err();
}

std::string unique_participant(const std::string& label) {
    static std::atomic<int> counter{0};
    return "e2e-" + label + "-" + std::to_string(counter.fetch_add(1));
}

Headers participant_headers(const std::string& participant, const Headers& extra) {
    Headers headers{{"Authorization", "Bearer " + kApiToken}, {"X-Instruqt-Sandbox-ID", participant}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return headers;
}

HttpResponse allocate(HttpClient& client, const std::string& participant, const Headers& extra) {
    return client.post("/v1/allocate", participant_headers(participant, extra));
}

HttpResponse get_sandbox(HttpClient& client, const std::string& sandbox_id, const std::string& participant) {
    return client.get("/v1/sandboxes/" + sandbox_id, participant_headers(participant));
}

HttpResponse mark_for_deletion(HttpClient& client, const std::string& sandbox_id,
                               const std::string& participant) {
    return client.post("/v1/sandboxes/" + sandbox_id + "/mark-for-deletion",
                       participant_headers(participant));
}

BurstResult burst(const BrokerInstance& broker, int connections,
                  const std::function<HttpResponse(HttpClient&, int)>& send) {
    auto count = static_cast<std::size_t>(connections);
    BurstResult result{std::vector<HttpResponse>(count), std::vector<std::string>(count)};
    std::latch ready(connections);
    std::vector<std::thread> threads;
    threads.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            std::optional<HttpClient> client;
            try {
                client.emplace(broker.process().host(), broker.process().port());
                auto health = client->get("/healthz");  // the connection is open before the burst
                if (health.status != 200)
                    throw std::runtime_error("healthz " + std::to_string(health.status));
            } catch (const std::exception& error) {
                result.failures[i] = std::string("connecting: ") + error.what();
            }
            ready.arrive_and_wait();  // every thread arrives, or the others would wait forever
            if (!result.failures[i].empty()) return;
            try {
                result.responses[i] = send(*client, static_cast<int>(i));
            } catch (const std::exception& error) {
                result.failures[i] = error.what();
            }
        });
    }
    for (auto& thread : threads) thread.join();
    return result;
}

std::string error_code(const HttpResponse& response) {
    const auto& json = response.json;
    if (!json.is_object() || !json.contains("error") || !json["error"].is_object()) return "";
    const auto& code = json["error"]["code"];
    return code.is_string() ? code.get<std::string>() : "";
}

double metric_sample(const std::string& metrics, const std::string& series) {
    std::istringstream in(metrics);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
}

}  // namespace broker::e2e
