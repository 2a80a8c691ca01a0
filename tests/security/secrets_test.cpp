// Threat: credentials leaking through logs or answers. The participant and admin tokens,
// the provider's token (CSP_API_TOKEN), the NIOSXaaS password and a store URL's password
// would let anyone who reads a log line or an error act as the broker. Defence: tokens are
// masked in every log line (obs/json_log, at every level, debug included), provider
// requests are logged with credentials redacted, store URLs are shown only through
// redact_store_url (every command), and error bodies never echo a credential.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/sim_process.hpp"

namespace broker::e2e {
namespace {

const std::string kSimToken = "sim-provider-token-SECRET-4f1c9a";
const std::string kNiosPassword = "nios-password-SECRET-77b2e1";
const std::string kStorePassword = "store-password-SECRET-0d93aa";

void expect_no_secret(const std::string& where, const std::string& text) {
    for (const std::string& secret : {kApiToken, kAdminToken, kSimToken, kNiosPassword, kStorePassword}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << "`" << secret << "` appears in " << where;
    }
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// A broker at LOG_LEVEL=debug with the provider and NIOSXaaS configured (the simulator),
// driven through successes and failures; nothing it writes or answers holds a credential.
TEST(Secrets, NoCredentialInAnyLogLineOrAnswerAtDebugLevel) {
    SimProcess sim({"--sandboxes", "5", "--name-prefix", "sec-", "--token", kSimToken});
    Environment env = serving_env();
    for (const auto& [name, value] : Environment{{"LOG_LEVEL", "debug"},
                                                 {"CSP_BASE_URL", sim.url() + "/v2"},
                                                 {"CSP_API_TOKEN", kSimToken},
                                                 {"NIOSXAAS_ENABLED", "true"},
                                                 {"NIOSXAAS_BASE_URL", sim.url()},
                                                 {"NIOSXAAS_EMAIL", "ops@example.com"},
                                                 {"NIOSXAAS_PASSWORD", kNiosPassword},
                                                 {"CLEANUP_INTERVAL_SEC", "1"},
                                                 {"CLEANUP_BATCH_DELAY_SEC", "0"},
                                                 {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0"},
                                                 {"WORKER_POLL_MS", "100"},
                                                 {"PROVIDER_RATE_LIMIT_RPS", "0"}}) {
        env[name] = value;
    }
    BrokerInstance broker({}, env);
    auto client = broker.client();
    const Headers admin = {{"Authorization", "Bearer " + kAdminToken}};

    std::vector<HttpResponse> answers;
    // Sync runs at start (or now, when it is asked to): the pool fills from the simulator.
    answers.push_back(client.post("/v1/admin/sync", admin));
    EXPECT_TRUE(answers.back().status == 200 || answers.back().status == 202) << answers.back().body;
    const std::string participant = unique_participant("secrets");
    ASSERT_TRUE(
        wait_until([&] { return allocate(client, participant).status == 201; }, std::chrono::seconds(10)));
    answers.push_back(allocate(client, participant));
    ASSERT_EQ(answers.back().status, 200) << answers.back().body;
    const std::string sandbox_id = answers.back().json.value("sandbox_id", "");
    answers.push_back(mark_for_deletion(client, sandbox_id, participant));
    // The cleanup job signs in to NIOSXaaS with the password and deletes at the provider.
    EXPECT_TRUE(wait_until([&] { return sim.stats().value("deleted", 0) >= 1; }, std::chrono::seconds(10)))
        << sim.stats().dump();

    // Failures that echo what the client sent: wrong token, a token in the wrong places.
    answers.push_back(client.get("/v1/admin/stats", {{"Authorization", "Bearer " + kApiToken}}));
    answers.push_back(client.get("/v1/admin/stats", {{"Authorization", "Basic " + kAdminToken}}));
    answers.push_back(client.post(
        "/v1/allocate", {{"Authorization", "Bearer " + kSimToken}, {"X-Instruqt-Sandbox-ID", "lab"}}));
    answers.push_back(client.get("/v1/sandboxes/" + kNiosPassword, participant_headers(participant)));
    answers.push_back(
        client.get("/v1/admin/sandboxes?cursor=" + kAdminToken + "&status=" + kSimToken, admin));
    answers.push_back(client.get("/no/such/" + kApiToken));
    for (const auto& answer : answers) expect_no_secret("an answer: " + answer.body, answer.body);

    EXPECT_EQ(broker.stop(), 0);  // a clean exit writes the batched log lines
    const std::string out = broker.process().out();
    EXPECT_NE(out.find("\"level\":\"INFO\""), std::string::npos) << "every line was written:\n"
                                                                 << out.substr(0, 2000);
    expect_no_secret("the broker's stdout", out);
    expect_no_secret("the broker's stderr", broker.process().err());
}

// Every command that takes a store URL shows it redacted: migrate's summary, and the
// refusals of serve and run (an unreachable PostgreSQL) and of import.
TEST(Secrets, StoreUrlPasswordsAreRedactedByEveryCommand) {
    TempDir dir;
    Environment env = serving_env();
    env["LOG_LEVEL"] = "debug";
    env["DB_CONNECT_TIMEOUT_SEC"] = "1";
    // Nothing listens on port 1: each command fails after showing what it could of the URL.
    const std::string url = "postgresql://broker:" + kStorePassword + "@127.0.0.1:1/broker";
    std::vector<std::vector<std::string>> commands = {{"migrate", "--store", url},
                                                      {"import", "/nonexistent.json", "--store", url},
                                                      {"serve", "--listen", "127.0.0.1:0", "--store", url},
                                                      {"run", "--listen", "127.0.0.1:0", "--store", url},
                                                      {"worker", "--store", url}};
    if (const char* real = std::getenv("BROKER_TEST_POSTGRES_URL")) {
        // A reachable database too: migrate succeeds and prints the URL it migrated.
        std::string with_password = real;
        with_password += (with_password.find('?') == std::string::npos ? "?" : "&");
        with_password += "password=" + kStorePassword;
        commands.push_back({"migrate", "--store", with_password});
    }
    for (const auto& args : commands) {
        const CommandResult result = run_broker_command(args, env, dir.path(), std::chrono::seconds(15));
        EXPECT_FALSE(result.timed_out) << args[0];
        expect_no_secret(args[0] + "'s stdout", result.out);
        expect_no_secret(args[0] + "'s stderr", result.err);
        if (args[0] == "migrate" && result.exit_code == 0) {
            EXPECT_NE(result.out.find("password=***"), std::string::npos) << result.out;
        }
    }
}

}  // namespace
}  // namespace broker::e2e
