// The original service's setting names: every one is either read with the same meaning here
// or refused at start-up with a message naming what replaces it (core/legacy_settings).
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/legacy_settings.hpp"
#include "jobs/job_config.hpp"
#include "provider/provider_config.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using namespace std::chrono_literals;

using testing::env_of;

std::vector<std::string> names_of(const std::map<std::string, std::string>& values) {
    std::vector<std::string> names;
    for (const auto& [name, value] : values) names.push_back(name);
    return names;
}

// Everything a process reads at start-up, as `run` reads it.
struct Loaded {
    Config config;
    JobConfig jobs;
    CspClientOptions csp;
    NiosxaasOptions niosxaas;
};

Loaded load_all(const std::map<std::string, std::string>& values) {
    const EnvLookup env = with_legacy_aliases(env_of(values));
    return {load_config(env, names_of(values)), load_job_config(env), load_csp_options(env),
            load_niosxaas_options(env)};
}

struct Case {
    std::string name;
    std::string value;
    // Accepted: what the loaded settings must show (the same meaning). Refused: null.
    std::function<void(const Loaded&)> check;
    std::string replacement;  // refused: the name the message must give
    std::map<std::string, std::string> beside{};
};

// The list of the original's names, written out here independently of the table.
std::vector<Case> original_settings() {
    return {
        {"API_BASE_PATH", "/api", [](const Loaded& l) { EXPECT_EQ(l.config.base_path, "/api"); }, ""},
        {"K_CANDIDATES", "8", [](const Loaded& l) { EXPECT_EQ(l.config.setting_notes.size(), 1u); }, ""},
        {"ENABLE_REQUEST_ID", "true", [](const Loaded&) {}, ""},
        {"BACKOFF_BASE_MS", "100", nullptr, "PROVIDER_BACKOFF_BASE_MS"},
        {"BACKOFF_MAX_MS", "5000", nullptr, "PROVIDER_BACKOFF_CAP_MS"},
        {"METRICS_PORT", "9090", nullptr, "METRICS_LISTEN"},
        {"NIOSXAAS_CLEANUP_INTERVAL_SEC", "60", nullptr, "CLEANUP_INTERVAL_SEC"},
        {"NIOSXAAS_PER_SANDBOX_DELAY_SEC", "1", nullptr, "CLEANUP_PER_SANDBOX_DELAY_SEC"},
        {"BROKER_API_TOKEN", "participant-token-1",
         [](const Loaded& l) { EXPECT_EQ(l.config.api_token, "participant-token-1"); }, ""},
        {"BROKER_ADMIN_TOKEN", "admin-token-1",
         [](const Loaded& l) { EXPECT_EQ(l.config.admin_token, "admin-token-1"); }, ""},
        {"LAB_DURATION_HOURS", "2", [](const Loaded& l) { EXPECT_EQ(l.config.lease.lab_duration, 2h); }, ""},
        {"GRACE_PERIOD_MINUTES", "15", [](const Loaded& l) { EXPECT_EQ(l.config.lease.grace_period, 15min); },
         ""},
        {"SYNC_INTERVAL_SEC", "120", [](const Loaded& l) { EXPECT_EQ(l.jobs.sync_interval, 120s); }, ""},
        {"CLEANUP_INTERVAL_SEC", "90", [](const Loaded& l) { EXPECT_EQ(l.jobs.cleanup_interval, 90s); }, ""},
        {"CLEANUP_BATCH_SIZE", "25", [](const Loaded& l) { EXPECT_EQ(l.jobs.cleanup_batch_size, 25); }, ""},
        {"CLEANUP_BATCH_DELAY_SEC", "1.5",
         [](const Loaded& l) { EXPECT_EQ(l.jobs.cleanup_batch_delay, 1500ms); }, ""},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0.25",
         [](const Loaded& l) { EXPECT_EQ(l.jobs.cleanup_per_sandbox_delay, 250ms); }, ""},
        {"AUTO_EXPIRY_INTERVAL_SEC", "45",
         [](const Loaded& l) { EXPECT_EQ(l.jobs.auto_expiry_interval, 45s); }, ""},
        {"CSP_BASE_URL", "https://csp.example/v2",
         [](const Loaded& l) { EXPECT_EQ(l.csp.base_url, "https://csp.example/v2"); }, ""},
        {"CSP_API_TOKEN", "csp-token-123456",
         [](const Loaded& l) { EXPECT_EQ(l.csp.token, "csp-token-123456"); }, ""},
        {"CORS_ALLOWED_ORIGINS", "https://play.instruqt.com",
         [](const Loaded& l) {
             EXPECT_EQ(l.config.cors_allowed_origins, std::vector<std::string>{"https://play.instruqt.com"});
         },
         ""},
        {"DDB_TABLE_NAME", "sandboxes", [](const Loaded& l) { EXPECT_EQ(l.config.store, "dynamodb://"); },
         ""},
        {"DDB_GSI1_NAME", "ByStatus", [](const Loaded& l) { EXPECT_EQ(l.config.store, Config{}.store); }, ""},
        {"DDB_GSI2_NAME", "ByTrack", [](const Loaded& l) { EXPECT_EQ(l.config.store, Config{}.store); }, ""},
        {"DDB_GSI3_NAME", "ByKey", [](const Loaded& l) { EXPECT_EQ(l.config.store, Config{}.store); }, ""},
        {"DDB_ENDPOINT_URL", "http://localhost:8000",
         [](const Loaded& l) { EXPECT_EQ(l.config.store, Config{}.store); }, ""},
        {"DDB_REGION", "eu-west-1", nullptr, "AWS_REGION"},
        {"NIOSXAAS_ENABLED",
         "true",
         [](const Loaded& l) { EXPECT_TRUE(l.niosxaas.enabled); },
         "",
         {{"NIOSXAAS_BASE_URL", "https://nios.example"},
          {"NIOSXAAS_EMAIL", "a@b.c"},
          {"NIOSXAAS_PASSWORD", "pw-123456"}}},
        {"NIOSXAAS_BASE_URL", "https://nios.example",
         [](const Loaded& l) { EXPECT_EQ(l.niosxaas.base_url, "https://nios.example"); }, ""},
        {"NIOSXAAS_EMAIL", "ops@example.com",
         [](const Loaded& l) { EXPECT_EQ(l.niosxaas.email, "ops@example.com"); }, ""},
        {"NIOSXAAS_PASSWORD", "secret-pw-1",
         [](const Loaded& l) { EXPECT_EQ(l.niosxaas.password, "secret-pw-1"); }, ""},
        {"NIOSXAAS_SERVICE_NAME", "Lab", [](const Loaded& l) { EXPECT_EQ(l.niosxaas.service_name, "Lab"); },
         ""},
        {"NIOSXAAS_SHADOW_MODE", "false", [](const Loaded& l) { EXPECT_FALSE(l.niosxaas.shadow_mode); }, ""},
        {"NIOSXAAS_TIMEOUT_SEC", "7", [](const Loaded& l) { EXPECT_EQ(l.niosxaas.timeout, 7s); }, ""},
        {"NIOSXAAS_SOMETHING_ELSE", "1", nullptr, "NIOSXAAS_ENABLED"},
    };
}

TEST(LegacySettings, EveryOriginalNameIsAcceptedWithItsMeaningOrRefusedNamingItsReplacement) {
    for (const auto& c : original_settings()) {
        SCOPED_TRACE(c.name + "=" + c.value);
        ASSERT_NE(find_legacy_setting(c.name), nullptr) << "not in the table";
        auto values = c.beside;
        values[c.name] = c.value;
        if (c.check) {
            EXPECT_NE(find_legacy_setting(c.name)->treatment, LegacyTreatment::refused);
            try {
                c.check(load_all(values));
            } catch (const ConfigError& e) {
                ADD_FAILURE() << "refused: " << e.what();
            }
        } else {
            EXPECT_EQ(find_legacy_setting(c.name)->treatment, LegacyTreatment::refused);
            try {
                load_all(values);
                ADD_FAILURE() << "accepted";
            } catch (const ConfigError& e) {
                const std::string message = e.what();
                EXPECT_NE(message.find(c.name), std::string::npos) << message;
                EXPECT_NE(message.find(c.replacement), std::string::npos) << message;
            }
        }
    }
}

TEST(LegacySettings, RefusedNamesAreFoundInAnEnvFileToo) {
    // Names only the .env file holds reach the check through the list of names set.
    const std::map<std::string, std::string> values = {{"NIOSXAAS_ANYTHING_AT_ALL", "x"}};
    EXPECT_THROW(load_config(env_of(values), names_of(values)), ConfigError);
    EXPECT_NO_THROW(load_config(env_of({{"UNRELATED_SETTING", "x"}}), {"UNRELATED_SETTING"}));
}

TEST(LegacySettings, AnAliasBesideItsReplacementMustAgree) {
    EXPECT_EQ(load_all({{"API_BASE_PATH", "/v2"}, {"BROKER_BASE_PATH", "/v2"}}).config.base_path, "/v2");
    try {
        load_all({{"API_BASE_PATH", "/api"}, {"BROKER_BASE_PATH", "/v1"}});
        ADD_FAILURE() << "accepted two different base paths";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("BROKER_BASE_PATH"), std::string::npos) << e.what();
    }
}

TEST(LegacySettings, RequestIdsCannotBeTurnedOff) {
    EXPECT_NO_THROW(load_all({{"ENABLE_REQUEST_ID", "1"}}));
    EXPECT_THROW(load_all({{"ENABLE_REQUEST_ID", "false"}}), ConfigError);
}

TEST(LegacySettings, IgnoredNamesSayWhyOnce) {
    const auto loaded = load_all({{"K_CANDIDATES", "4"}});
    ASSERT_EQ(loaded.config.setting_notes.size(), 1u);
    EXPECT_NE(loaded.config.setting_notes[0].find("K_CANDIDATES is accepted and ignored"), std::string::npos)
        << loaded.config.setting_notes[0];
    EXPECT_TRUE(load_all({}).config.setting_notes.empty());
}

}  // namespace
}  // namespace broker
