// Secrets from files: NAME_FILE beneath every secret setting, the conflicts and unreadable
// files it refuses, and the configuration it feeds (tokens, provider credentials, store URL).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "../store/temp_dir.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/secret_files.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using testing::env_of;

class SecretFilesTest : public ::testing::Test {
  protected:
    std::string write(const std::string& name, const std::string& content) {
        const std::string path = dir_.file(name);
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    // The ConfigError message of reading `name`; fails the test if reading succeeds.
    static std::string error_of(const EnvLookup& env, const std::string& name) {
        try {
            env(name);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "expected ConfigError reading " << name;
        return {};
    }

    testing::TempDir dir_;
};

TEST_F(SecretFilesTest, EverySecretSettingIsReadFromItsFileWithOneLineEndRemoved) {
    for (const auto setting : secret_settings()) {
        const std::string name(setting);
        const auto env =
            with_secret_files(env_of({{name + "_FILE", write(name, "value of " + name + "\n")}}));
        EXPECT_EQ(env(name), "value of " + name);
    }
    const auto env = with_secret_files(env_of({{"BROKER_API_TOKEN_FILE", write("crlf", "token\r\n")},
                                               {"BROKER_ADMIN_TOKEN_FILE", write("two", "admin\n\n")},
                                               {"CSP_API_TOKEN_FILE", write("bare", "csp")}}));
    EXPECT_EQ(env("BROKER_API_TOKEN"), "token");
    EXPECT_EQ(env("BROKER_ADMIN_TOKEN"), "admin\n");  // one line end only; settings trim the rest
    EXPECT_EQ(env("CSP_API_TOKEN"), "csp");
}

TEST_F(SecretFilesTest, OtherSettingsAndUnsetOnesAreLeftAlone) {
    const auto env = with_secret_files(env_of({{"BROKER_API_TOKEN", "direct"},
                                               {"LOG_LEVEL", "debug"},
                                               {"LOG_LEVEL_FILE", write("level", "trace\n")}}));
    EXPECT_EQ(env("BROKER_API_TOKEN"), "direct");
    EXPECT_EQ(env("LOG_LEVEL"), "debug");  // not a secret: no _FILE form
    EXPECT_FALSE(env("BROKER_ADMIN_TOKEN"));
    EXPECT_FALSE(env("BROKER_STORE"));
}

TEST_F(SecretFilesTest, BothSetIsAnErrorNamingBoth) {
    const auto env = with_secret_files(
        env_of({{"METRICS_TOKEN", "direct-value"}, {"METRICS_TOKEN_FILE", write("m", "file-value")}}));
    const std::string message = error_of(env, "METRICS_TOKEN");
    EXPECT_NE(message.find("METRICS_TOKEN and METRICS_TOKEN_FILE are both set"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("direct-value"), std::string::npos) << message;
    EXPECT_EQ(message.find("file-value"), std::string::npos) << message;
}

TEST_F(SecretFilesTest, AnUnreadableFileNamesTheVariableAndPathNeverTheContent) {
    const std::string missing = dir_.file("absent");
    auto env = with_secret_files(env_of({{"NIOSXAAS_PASSWORD_FILE", missing}}));
    std::string message = error_of(env, "NIOSXAAS_PASSWORD");
    EXPECT_NE(message.find("NIOSXAAS_PASSWORD_FILE=" + missing), std::string::npos) << message;

    // A directory opens but cannot be read as a file.
    env = with_secret_files(env_of({{"CSP_API_TOKEN_FILE", dir_.path().string()}}));
    message = error_of(env, "CSP_API_TOKEN");
    EXPECT_NE(message.find("CSP_API_TOKEN_FILE=" + dir_.path().string()), std::string::npos) << message;

    env = with_secret_files(env_of({{"BROKER_STORE_FILE", " "}}));
    message = error_of(env, "BROKER_STORE");
    EXPECT_NE(message.find("BROKER_STORE_FILE is set but empty"), std::string::npos) << message;
}

// Through the process environment, as every command reads it: the tokens, the store URL (whose
// password is then masked like any other) and the provider token for masking.
TEST_F(SecretFilesTest, TheProcessEnvironmentReadsSecretFiles) {
    const std::map<std::string, std::string> dotenv = {
        {"BROKER_API_TOKEN_FILE", write("api", "participant-token-0123456789\n")},
        {"BROKER_ADMIN_TOKEN_FILE", write("admin", "admin-token-0123456789abcdef\n")},
        {"BROKER_STORE_FILE", write("store", "postgresql://broker:pg-secret@127.0.0.1:5432/broker\n")},
        {"CSP_API_TOKEN_FILE", write("csp", "csp-token-from-file\n")},
    };
    const auto base = process_env(dotenv);
    // The file's keys only, so the real environment of the test process does not leak in.
    const EnvLookup only_file = [&](const std::string& name) -> std::optional<std::string> {
        const bool from_file = dotenv.count(name) || dotenv.count(name + "_FILE");
        return from_file ? base(name) : std::nullopt;
    };
    const Config config = load_config(only_file);
    EXPECT_EQ(config.api_token, "participant-token-0123456789");
    EXPECT_EQ(config.admin_token, "admin-token-0123456789abcdef");
    EXPECT_EQ(config.store, "postgresql://broker:pg-secret@127.0.0.1:5432/broker");
    EXPECT_NE(std::find(config.other_secrets.begin(), config.other_secrets.end(), "csp-token-from-file"),
              config.other_secrets.end());
    EXPECT_NO_THROW(validate_for_serving(config));
}

// The original's settings table refuses unknown NIOSXAAS_* names; the secret-file form of
// NIOSXAAS_PASSWORD is not one of them (nor is any other NAME_FILE).
TEST_F(SecretFilesTest, SecretFileNamesPassTheOriginalsSettingsCheck) {
    std::map<std::string, std::string> values;
    std::vector<std::string> present;
    for (const auto setting : secret_settings()) {
        const std::string name = std::string(setting) + "_FILE";
        values[name] = write(name, "secret-value-0123456789abcdef-" + name + "\n");
        present.push_back(name);
    }
    const auto env = with_secret_files(env_of(values));
    EXPECT_NO_THROW(load_config(env, present));
    EXPECT_EQ(env("NIOSXAAS_PASSWORD"), "secret-value-0123456789abcdef-NIOSXAAS_PASSWORD_FILE");
}

}  // namespace
}  // namespace broker
