// The command line of the real binary: import's summary, and start-up failures that must end
// with a message on stderr and a non-zero exit instead of a half-started server.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
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

// The test build's clock flag (BROKER_TEST_HOOKS): not in --help, and a file without a time
// stops start-up with a message naming it (exit 2). The binary built without the option
// refuses the flag altogether (production_build_refuses_test_clock).
TEST_F(CliTest, TheTestClockFlagIsHiddenAndChecksItsFile) {
    for (const char* command : {"run", "serve", "worker"}) {
        const auto help = run({command, "--help"});
        EXPECT_EQ(help.exit_code, 0) << help.err;
        EXPECT_EQ(help.out.find("test-clock"), std::string::npos) << command << " --help:\n" << help.out;
    }
    const std::string clock = write_file("clock", "next tuesday\n");
    const auto bad = run({"run", "--listen", "127.0.0.1:0", "--store", store_url(), "--test-clock=" + clock});
    expect_refused(bad, clock);
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
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

TEST_F(CliTest, AnUnknownCommandOrOptionIsNamed) {
    auto command = run({"frobnicate"});
    EXPECT_EQ(command.exit_code, 2);
    EXPECT_NE(command.err.find("unknown command \"frobnicate\""), std::string::npos) << command.err;
    EXPECT_NE(command.err.find("backup"), std::string::npos) << "lists the commands: " << command.err;

    auto option = run({"--frobnicate"});
    EXPECT_EQ(option.exit_code, 2);
    EXPECT_NE(option.err.find("unknown option --frobnicate"), std::string::npos) << option.err;

    auto flag = run({"migrate", "--frobnicate", "--store", store_url()});
    EXPECT_EQ(flag.exit_code, 2);
    EXPECT_NE(flag.err.find("--frobnicate"), std::string::npos) << flag.err;

    auto none = run({});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.err.find("a command is required"), std::string::npos) << none.err;
}

TEST_F(CliTest, AMissingEnvFileStopsWithItsName) {
    const auto missing = (dir_.path() / "prod.env").string();
    expect_refused(run({"migrate", "--store", store_url(), "--env-file", missing}), "prod.env");
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "cli.db")) << "nothing done without the settings";
}

TEST_F(CliTest, SimulatorRefusesANegativePool) {
    auto result = run({"csp-sim", "--listen", "127.0.0.1:0", "--sandboxes", "-3"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("--sandboxes must be at least 0"), std::string::npos) << result.err;
}

TEST_F(CliTest, MigrateSaysWhetherItCreatedTheSchemaOrFoundItUpToDate) {
    auto created = run({"migrate", "--store", store_url()});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    EXPECT_NE(created.out.find("created the schema"), std::string::npos) << created.out;
    auto again = run({"migrate", "--store", store_url()});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("schema up to date"), std::string::npos) << again.out;
}

TEST_F(CliTest, VersionNamesTheCommit) {
    auto result = run({"--version"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out.rfind("sandbox-broker ", 0), 0u) << result.out;
    EXPECT_NE(result.out.find("(commit "), std::string::npos) << result.out;
}

TEST_F(CliTest, AMissingStoreDirectoryIsRefusedUnlessAskedToCreateIt) {
    const auto typo = dir_.path() / "dtaa" / "broker.db";
    expect_refused(run({"migrate", "--store", "sqlite:" + typo.string()}), "create_dir=true");
    EXPECT_FALSE(std::filesystem::exists(typo.parent_path()));

    auto created = run({"migrate", "--store", "sqlite:" + typo.string() + "?create_dir=true"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    EXPECT_TRUE(std::filesystem::exists(typo));
}

TEST_F(CliTest, SettingsOfTheOriginalServiceAreRefusedNamingTheirReplacement) {
    Environment env = serving_env();
    env["METRICS_PORT"] = "9100";
    expect_refused(run({"run", "--listen", "127.0.0.1:0", "--store", store_url()}, env), "METRICS_LISTEN");

    // In a .env file as well as in the environment.
    const auto file = write_file("old.env", "DDB_TABLE_NAME=sandboxes\n");
    expect_refused(run({"run", "--listen", "127.0.0.1:0", "--store", store_url(), "--env-file", file}),
                   "BROKER_STORE");
}

TEST_F(CliTest, AcceptedOldSettingsKeepTheirMeaning) {
    Environment env = serving_env();
    env["API_BASE_PATH"] = "/api";
    env["K_CANDIDATES"] = "5";
    env["LOG_LEVEL"] = "info";
    BrokerProcess broker(store_url(), env, dir_.path());
    HttpClient client(broker.host(), broker.port());
    EXPECT_EQ(client.get("/api/openapi.json").status, 200);
    EXPECT_EQ(client.get("/v1/openapi.json").status, 404);
    EXPECT_EQ(broker.stop(), 0);
    EXPECT_NE(broker.out().find("K_CANDIDATES is accepted and ignored"), std::string::npos) << broker.out();
}

}  // namespace
}  // namespace broker::e2e
