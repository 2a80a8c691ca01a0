// The command line of the real binary: import's summary, and start-up failures that must end
// with a message on stderr and a non-zero exit instead of a half-started server.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

class CliTest : public ::testing::Test {
  protected:
    std::string store_url() const { return "sqlite:" + (dir_.path() / "cli.db").string(); }

    std::string write_file(const std::string& name, const std::string& text) const {
        auto path = dir_.path() / name;
        std::ofstream(path) << text;
        return path.string();
    }

    CommandResult run(const std::vector<std::string>& args, const Environment& env = serving_env()) const {
        return run_broker_command(args, env, dir_.path(), std::chrono::seconds(10));
    }

    TempDir dir_;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// A failed start: not hung, non-zero, and something for the operator to read.
void expect_refused(const CommandResult& result, const std::string& mentions) {
    EXPECT_FALSE(result.timed_out) << "still running after the bound; stderr:\n" << result.err;
    EXPECT_NE(result.exit_code, 0) << "stdout:\n" << result.out;
    EXPECT_NE(lower(result.err).find(lower(mentions)), std::string::npos)
        << "stderr should mention `" << mentions << "`:\n"
        << result.err;
    EXPECT_EQ(result.out.find("listening on"), std::string::npos) << result.out;
}

TEST_F(CliTest, ImportKeepsOnlyActiveSandboxesAndSaysHowMany) {
    auto pool = sandboxes("cli-", 5, 700000);
    pool.push_back({700100, "cli-inactive", "sfdc-x", "sandbox", "inactive"});
    pool.push_back({700101, "cli-org", "sfdc-y", "organization", "active"});
    auto file = write_file("pool.json", csp_accounts_json(pool));

    auto result = run({"import", file, "--store", store_url()});

    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out.rfind("imported 5 sandboxes", 0), 0u) << result.out;
    EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1)
        << "one summary line: " << result.out;
}

TEST_F(CliTest, ImportingTheSameListTwiceAddsNothingNew) {
    auto file = write_file("pool.json", csp_accounts_json(sandboxes("twice-", 4, 710000)));
    ASSERT_EQ(run({"import", file, "--store", store_url()}).exit_code, 0);

    auto again = run({"import", file, "--store", store_url()});
    ASSERT_EQ(again.exit_code, 0) << again.err;

    // The pool is still four: the fifth participant finds it empty.
    BrokerProcess broker(store_url(), serving_env(), dir_.path());
    HttpClient client(broker.host(), broker.port());
    for (int i = 0; i < 4; ++i) ASSERT_EQ(allocate(client, unique_participant("twice")).status, 201);
    EXPECT_EQ(allocate(client, unique_participant("twice")).status, 409);
    EXPECT_EQ(broker.stop(), 0);
}

TEST_F(CliTest, ImportOfAMissingFileFails) {
    auto missing = (dir_.path() / "no-such-pool.json").string();
    expect_refused(run({"import", missing, "--store", store_url()}), "no-such-pool.json");
}

TEST_F(CliTest, ImportOfAnHtmlPageFails) {
    auto file = write_file("error.html", "<html><body>502 Bad Gateway</body></html>");
    auto result = run({"import", file, "--store", store_url()});
    EXPECT_FALSE(result.timed_out);
    EXPECT_NE(result.exit_code, 0) << result.out;
    EXPECT_FALSE(result.err.empty());
}

TEST_F(CliTest, UnknownFlagFails) {
    expect_refused(run({"run", "--no-such-flag", "--store", store_url()}), "no-such-flag");
}

TEST_F(CliTest, UnknownSubcommandFails) {
    auto result = run({"fly-to-the-moon"});
    EXPECT_FALSE(result.timed_out);
    EXPECT_NE(result.exit_code, 0);
    EXPECT_FALSE(result.err.empty());
}

TEST_F(CliTest, UnsupportedStoreUrlFails) {
    expect_refused(run({"run", "--listen", "127.0.0.1:0", "--store", "mysql://x"}), "store");
}

TEST_F(CliTest, ImportIntoAnUnsupportedStoreUrlFails) {
    auto file = write_file("pool.json", csp_accounts_json(sandboxes("bad-", 1, 720000)));
    expect_refused(run({"import", file, "--store", "mysql://x"}), "store");
}

TEST_F(CliTest, RunWithoutTheApiTokenFails) {
    auto env = serving_env();
    env.erase("BROKER_API_TOKEN");
    expect_refused(run({"run", "--listen", "127.0.0.1:0", "--store", store_url()}, env), "BROKER_API_TOKEN");
}

TEST_F(CliTest, RunWithoutTheAdminTokenFails) {
    auto env = serving_env();
    env.erase("BROKER_ADMIN_TOKEN");
    expect_refused(run({"run", "--listen", "127.0.0.1:0", "--store", store_url()}, env),
                   "BROKER_ADMIN_TOKEN");
}

}  // namespace
}  // namespace broker::e2e
