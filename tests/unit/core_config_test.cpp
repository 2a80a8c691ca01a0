// Unit tests of configuration: defaults, precedence, errors that name the setting, .env files.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "../store/temp_dir.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using testing::env_of;

// The ConfigError message of loading `values`; fails the test if loading succeeds.
std::string error_of(std::map<std::string, std::string> values) {
    try {
        load_config(env_of(std::move(values)));
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected ConfigError";
    return {};
}

TEST(Config, DefaultsWithAnEmptyEnvironment) {
    const Config c = load_config(env_of({}));
    EXPECT_EQ(c.listen, "127.0.0.1:8080") << "loopback unless told otherwise";
    EXPECT_EQ(c.store, "sqlite:data/broker.db");
    EXPECT_EQ(c.base_path, "/v1");
    EXPECT_EQ(c.lease.lab_duration, std::chrono::hours(48));
    EXPECT_EQ(c.lease.grace_period, std::chrono::minutes(30));
    EXPECT_TRUE(c.rate_limit_enabled);
    EXPECT_DOUBLE_EQ(c.rate_limit_rps, 50);
    EXPECT_DOUBLE_EQ(c.rate_limit_burst, 200);
    EXPECT_TRUE(c.api_token.empty());
}

TEST(Config, ReadsTheOriginalsVariableNames) {
    const Config c = load_config(env_of({{"BROKER_API_TOKEN", " api "},
                                         {"BROKER_ADMIN_TOKEN", "admin"},
                                         {"BROKER_STORE", "sqlite:/tmp/x.db"},
                                         {"LAB_DURATION_HOURS", "1.5"},
                                         {"GRACE_PERIOD_MINUTES", "5"},
                                         {"RATE_LIMIT_ENABLED", "false"},
                                         {"STORE_QUEUE_MAX", "100"}}));
    EXPECT_EQ(c.api_token, "api");
    EXPECT_EQ(c.admin_token, "admin");
    EXPECT_EQ(c.store, "sqlite:/tmp/x.db");
    EXPECT_EQ(c.lease.lab_duration, std::chrono::seconds(5400));
    EXPECT_EQ(c.lease.grace_period, std::chrono::seconds(300));
    EXPECT_FALSE(c.rate_limit_enabled);
    EXPECT_EQ(c.store_queue_max, 100);
}

TEST(Config, SecondsTakePrecedenceOverHoursAndMinutes) {
    const Config c = load_config(env_of({{"LAB_DURATION_HOURS", "48"},
                                         {"LAB_DURATION_SEC", "90"},
                                         {"GRACE_PERIOD_MINUTES", "30"},
                                         {"GRACE_PERIOD_SEC", "0"}}));
    EXPECT_EQ(c.lease.lab_duration, std::chrono::seconds(90));
    EXPECT_EQ(c.lease.grace_period, std::chrono::seconds(0));
}

TEST(Config, LeaseCapDefaultsToTwiceTheLabDurationAndIsNeverShorter) {
    const Config defaults = load_config(env_of({{"LAB_DURATION_SEC", "3600"}}));
    EXPECT_EQ(defaults.lease.max_duration, std::chrono::seconds(0));
    EXPECT_EQ(defaults.lease.max_expires_at(1000), 1000 + 7200);
    const Config set = load_config(env_of({{"LAB_DURATION_SEC", "3600"}, {"LAB_MAX_DURATION_SEC", "5400"}}));
    EXPECT_EQ(set.lease.max_duration, std::chrono::seconds(5400));
    EXPECT_EQ(set.lease.max_expires_at(1000), 1000 + 5400);
    EXPECT_NE(error_of({{"LAB_DURATION_SEC", "3600"}, {"LAB_MAX_DURATION_SEC", "3599"}})
                  .find("LAB_MAX_DURATION_SEC"),
              std::string::npos);
    EXPECT_NE(error_of({{"LAB_MAX_DURATION_SEC", "0"}}).find("LAB_MAX_DURATION_SEC"), std::string::npos);
}

TEST(Config, SandboxesPerParticipantDefaultsToOneAndStaysPositive) {
    EXPECT_EQ(load_config(env_of({})).max_sandboxes_per_participant, 1);
    EXPECT_EQ(load_config(env_of({{"MAX_SANDBOXES_PER_PARTICIPANT", "3"}})).max_sandboxes_per_participant, 3);
    EXPECT_NE(error_of({{"MAX_SANDBOXES_PER_PARTICIPANT", "0"}}).find("MAX_SANDBOXES_PER_PARTICIPANT"),
              std::string::npos);
}

TEST(Config, BadValuesNameTheVariable) {
    EXPECT_NE(error_of({{"LAB_DURATION_HOURS", "two"}}).find("LAB_DURATION_HOURS"), std::string::npos);
    EXPECT_NE(error_of({{"LAB_DURATION_SEC", "0"}}).find("LAB_DURATION_SEC"), std::string::npos);
    EXPECT_NE(error_of({{"LAB_DURATION_SEC", "12abc"}}).find("LAB_DURATION_SEC"), std::string::npos);
    EXPECT_NE(error_of({{"GRACE_PERIOD_MINUTES", "-1"}}).find("GRACE_PERIOD_MINUTES"), std::string::npos);
    EXPECT_NE(error_of({{"HTTP_THREADS", ""}}).find("HTTP_THREADS"), std::string::npos);
    EXPECT_NE(error_of({{"RATE_LIMIT_ENABLED", "maybe"}}).find("RATE_LIMIT_ENABLED"), std::string::npos);
    EXPECT_NE(error_of({{"BROKER_BASE_PATH", "v1"}}).find("BROKER_BASE_PATH"), std::string::npos);
    EXPECT_NE(error_of({{"LOG_FORMAT", "xml"}}).find("LOG_FORMAT"), std::string::npos);
}

TEST(Config, ServingNeedsTwoDifferentTokens) {
    Config c = load_config(env_of({}));
    EXPECT_THROW(validate_for_serving(c), ConfigError);
    c.api_token = "the-same-token-0123456789";
    c.admin_token = "the-same-token-0123456789";
    try {
        validate_for_serving(c);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("BROKER_ADMIN_TOKEN"), std::string::npos);
    }
    c.admin_token = "another-token-0123456789";
    EXPECT_NO_THROW(validate_for_serving(c));
}

// A token that can never be sent in a header, or that is short enough to guess, stops
// start-up with a message naming the setting and not showing the value.
TEST(Config, ServingRefusesUnusableOrShortTokensNamingTheSetting) {
    const auto refusal = [](const std::string& api, const std::string& admin) -> std::string {
        Config c;
        c.api_token = api;
        c.admin_token = admin;
        try {
            validate_for_serving(c);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    };
    const std::string good = "participant-token-0123456789";
    const std::string admin = "admin-token-0123456789";
    EXPECT_EQ(refusal(good, admin), "");
    EXPECT_EQ(refusal(std::string(16, 'a'), admin), "") << "16 characters are enough";

    for (const std::string& bad :
         {std::string("with space-0123456789"), std::string("tab\tinside-0123456789"),
          std::string("nul\0inside-0123456789", 21), std::string("caf\xc3\xa9-token-0123456789"),
          std::string("del\x7finside-0123456789")}) {
        const std::string message = refusal(bad, admin);
        EXPECT_NE(message.find("BROKER_API_TOKEN"), std::string::npos) << message;
        EXPECT_EQ(message.find(bad), std::string::npos) << "the token itself is never shown";
    }
    const std::string short_api = refusal("fifteen-chars-x", admin);
    EXPECT_NE(short_api.find("BROKER_API_TOKEN"), std::string::npos) << short_api;
    EXPECT_NE(short_api.find("16"), std::string::npos) << short_api;
    EXPECT_NE(refusal(good, "short").find("BROKER_ADMIN_TOKEN"), std::string::npos);

    Config c;
    c.api_token = good;
    c.admin_token = admin;
    c.metrics_token = "tiny";
    try {
        validate_for_serving(c);
        ADD_FAILURE() << "a short METRICS_TOKEN was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("METRICS_TOKEN"), std::string::npos) << e.what();
    }
}

TEST(Config, EdgeBoundsAndMetricsExposureAreRead) {
    const Config defaults = load_config(env_of({}));
    EXPECT_EQ(defaults.max_connections, 4096u);
    EXPECT_TRUE(defaults.metrics_listen.empty());
    EXPECT_TRUE(defaults.metrics_token.empty());
    const Config c = load_config(env_of({{"MAX_CONNECTIONS", "64"},
                                         {"ACCESS_LOG_REFUSED_PER_SEC", "5"},
                                         {"METRICS_LISTEN", "127.0.0.1:9100"},
                                         {"METRICS_TOKEN", "metrics-token-0123456789"}}));
    EXPECT_EQ(c.max_connections, 64u);
    EXPECT_DOUBLE_EQ(c.access_log_refused_per_sec, 5);
    EXPECT_EQ(c.metrics_listen, "127.0.0.1:9100");
    EXPECT_EQ(c.metrics_token, "metrics-token-0123456789");
    // Masked in logs like every other credential.
    EXPECT_NE(std::find(c.other_secrets.begin(), c.other_secrets.end(), c.metrics_token),
              c.other_secrets.end());
    EXPECT_THROW(load_config(env_of({{"MAX_CONNECTIONS", "0"}})), ConfigError);
}

// With PostgreSQL (a pool of DB_POOL_SIZE connections) an unset STORE_THREADS stays within the
// pool; SQLite and DynamoDB (no bound given) keep the default by cores; a given value is kept.
TEST(Config, StoreThreadsWithinThePostgresPoolUnlessGiven) {
    const auto fitted = [](std::optional<std::size_t> connections, int cores,
                           std::map<std::string, std::string> values = {}) {
        Config c = load_config(env_of(std::move(values)));
        fit_store_threads(c, connections, cores);
        return c.store_threads;
    };
    for (const auto& [cores, pool16, pool4, sqlite] :
         std::vector<std::array<int, 4>>{{1, 8, 4, 8}, {2, 16, 4, 16}, {4, 16, 4, 32}, {8, 16, 4, 64}}) {
        SCOPED_TRACE("cores " + std::to_string(cores));
        EXPECT_EQ(fitted(16, cores), pool16);
        EXPECT_EQ(fitted(4, cores), pool4);
        EXPECT_EQ(fitted(std::nullopt, cores), sqlite);
        EXPECT_EQ(fitted(4, cores, {{"STORE_THREADS", "24"}}), 24);
        EXPECT_EQ(fitted(std::nullopt, cores, {{"STORE_THREADS", "24"}}), 24);
    }
    EXPECT_FALSE(load_config(env_of({})).store_threads_set);
    EXPECT_TRUE(load_config(env_of({{"STORE_THREADS", "8"}})).store_threads_set);
}

class DotenvTest : public ::testing::Test {
  protected:
    std::string write(const std::string& text) {
        const std::string path = dir_.file(".env");
        std::ofstream(path) << text;
        return path;
    }
    testing::TempDir dir_;
};

TEST_F(DotenvTest, ParsesCommentsQuotesAndExport) {
    const auto values =
        read_dotenv(write("# a comment\n"
                          "\n"
                          "BROKER_API_TOKEN=abc\n"
                          "export LAB_DURATION_SEC = 120\n"
                          "QUOTED=\"with spaces\"\n"
                          "SINGLE='x=y'\n"
                          "EMPTY=\n"));
    EXPECT_EQ(values.at("BROKER_API_TOKEN"), "abc");
    EXPECT_EQ(values.at("LAB_DURATION_SEC"), "120");
    EXPECT_EQ(values.at("QUOTED"), "with spaces");
    EXPECT_EQ(values.at("SINGLE"), "x=y");
    EXPECT_EQ(values.at("EMPTY"), "");
    EXPECT_EQ(values.size(), 5u);
}

TEST_F(DotenvTest, MissingFileIsEmpty) {
    EXPECT_TRUE(read_dotenv(dir_.file("absent.env")).empty());
}

TEST_F(DotenvTest, MalformedLineNamesFileAndLine) {
    const std::string path = write("GOOD=1\nthis is not an assignment\n");
    try {
        read_dotenv(path);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
    }
}

TEST_F(DotenvTest, ProcessEnvironmentWinsOverTheFile) {
    // Variable names of this test alone, so the process environment is otherwise untouched.
    ::setenv("BROKER_CONFIG_TEST_FROM_BOTH", "process", 1);
    ::unsetenv("BROKER_CONFIG_TEST_FROM_FILE");
    const auto env =
        process_env(read_dotenv(write("BROKER_CONFIG_TEST_FROM_BOTH=file\n"
                                      "BROKER_CONFIG_TEST_FROM_FILE=file\n")));
    EXPECT_EQ(env("BROKER_CONFIG_TEST_FROM_BOTH"), "process");
    EXPECT_EQ(env("BROKER_CONFIG_TEST_FROM_FILE"), "file");
    EXPECT_FALSE(env("BROKER_CONFIG_TEST_UNSET"));
    ::unsetenv("BROKER_CONFIG_TEST_FROM_BOTH");
}

TEST_F(DotenvTest, FileValuesFeedTheConfiguration) {
    const auto dotenv = read_dotenv(write("LAB_DURATION_SEC=77\nBROKER_CONFIG_TEST_X=1\n"));
    auto base = process_env(dotenv);
    // Only the file's keys and nothing of the real environment for the lookup itself.
    EnvLookup only_file = [&](const std::string& name) -> std::optional<std::string> {
        if (dotenv.count(name)) return base(name);
        return std::nullopt;
    };
    EXPECT_EQ(load_config(only_file).lease.lab_duration, std::chrono::seconds(77));
}

}  // namespace
}  // namespace broker

namespace broker {
namespace {

TEST(ConfigSecrets, ProviderCredentialsAreCollectedForMasking) {
    const std::map<std::string, std::string> env = {{"CSP_API_TOKEN", " csp-secret "},
                                                    {"NIOSXAAS_PASSWORD", "nios-secret"}};
    const Config config = load_config([&](const std::string& name) -> std::optional<std::string> {
        if (auto it = env.find(name); it != env.end()) return it->second;
        return std::nullopt;
    });
    EXPECT_EQ(config.other_secrets, (std::vector<std::string>{"csp-secret", "nios-secret"}));
}

// 0 means "off" here as PROVIDER_RATE_LIMIT_RPS=0 does toward the provider.
TEST(Config, RateLimitOfZeroTurnsTheLimitOff) {
    const Config off = load_config(env_of({{"RATE_LIMIT_RPS", "0"}}));
    EXPECT_FALSE(off.rate_limit_enabled);
    EXPECT_TRUE(load_config(env_of({{"RATE_LIMIT_RPS", "0.5"}})).rate_limit_enabled);
    EXPECT_NE(error_of({{"RATE_LIMIT_RPS", "-1"}}).find("RATE_LIMIT_RPS"), std::string::npos);
}

TEST(Config, ANamedEnvFileMustExist) {
    testing::TempDir dir;
    try {
        read_required_dotenv(dir.file("missing.env"));
        ADD_FAILURE() << "a missing env file was read as empty";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("missing.env"), std::string::npos) << e.what();
    }
    std::ofstream(dir.file("present.env")) << "LOG_LEVEL=debug\n";
    EXPECT_EQ(read_required_dotenv(dir.file("present.env")).at("LOG_LEVEL"), "debug");
}

}  // namespace
}  // namespace broker
