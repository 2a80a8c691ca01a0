// Start-up of `run` and `serve` as scripts see it: the first line on stdout is `listening on
// http://HOST:PORT` whatever else is logged (the provider-less warning, the descriptor
// check), the same is logged as a JSON line; tokens that could never work or are guessable
// stop start-up with a message naming the setting.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

TEST(Startup, TheFirstStdoutLineIsListeningOnEvenWithoutAProvider) {
    TempDir dir;
    Environment env = serving_env();
    env["LOG_LEVEL"] = "info";  // every start-up line, the provider-less warning included
    ChildProcess child({BROKER_BINARY, "run", "--listen", "127.0.0.1:0", "--store",
                        "sqlite:" + (dir.path() / "s.db").string()},
                       env, dir.path());
    ASSERT_TRUE(child.wait_for_line("provider jobs disabled", std::chrono::seconds(10)))
        << child.out() << child.err();
    // A clean exit writes the batched log lines.
    EXPECT_EQ(child.terminate(std::chrono::seconds(5)), 0);

    std::istringstream out(child.out());
    std::string first;
    std::getline(out, first);
    EXPECT_EQ(first.rfind("listening on http://127.0.0.1:", 0), 0u) << child.out();
    bool logged = false;
    for (std::string line; std::getline(out, line);) {
        const auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.value("message", "") == first) logged = true;
    }
    EXPECT_TRUE(logged) << "`" << first << "` is also a JSON log line:\n" << child.out();
}

TEST(Startup, UnusableOrShortTokensStopStartUpNamingTheSetting) {
    TempDir dir;
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"BROKER_API_TOKEN", "short-token"},
        {"BROKER_API_TOKEN", "a token with spaces inside it"},
        {"BROKER_ADMIN_TOKEN", "admin-token-with-\x01-control"},
        {"METRICS_TOKEN", "tiny"},
    };
    for (const auto& [name, value] : bad) {
        Environment env = serving_env();
        env[name] = value;
        const CommandResult result = run_broker_command(
            {"serve", "--listen", "127.0.0.1:0", "--store", "sqlite:" + (dir.path() / "t.db").string()}, env,
            dir.path(), std::chrono::seconds(10));
        EXPECT_EQ(result.exit_code, 2) << name << "=" << value << "\n" << result.err;
        EXPECT_NE(result.err.find(name), std::string::npos) << result.err;
        EXPECT_EQ(result.err.find(value), std::string::npos) << "the token is never shown: " << result.err;
        EXPECT_EQ(result.out.find("listening on"), std::string::npos);
    }
}

}  // namespace
}  // namespace broker::e2e
