// The settings catalog (core/settings_catalog) against what the configuration readers ask the
// environment for: every name a reader reads is in the catalog, and every catalog name is read
// by a reader, so `sandbox-broker settings` and the deploy recipes checked against it cannot
// drift from the code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "app/admin_client.hpp"
#include "app/outbox_wiring.hpp"
#include "app/settings_command.hpp"
#include "app/shutdown_drain.hpp"
#include "core/config.hpp"
#include "core/cpu_count.hpp"
#include "core/errors.hpp"
#include "core/legacy_settings.hpp"
#include "core/secret_files.hpp"
#include "core/settings_catalog.hpp"
#include "http/allocate_wait.hpp"
#include "http/event_stream_options.hpp"
#include "jobs/job_config.hpp"
#include "jobs/webhook_config.hpp"
#include "provider/provider_config.hpp"
#include "store/dynamodb/aws_credentials.hpp"
#include "store/dynamodb/dynamo_options.hpp"
#include "store/postgres/postgres_options.hpp"

namespace broker {
namespace {

// Runs every configuration reader on an empty environment and collects the names it asks for.
std::set<std::string> names_the_readers_read() {
    std::set<std::string> asked;
    const EnvLookup recording = [&asked](const std::string& name) -> std::optional<std::string> {
        asked.insert(name);
        return std::nullopt;
    };
    load_config(recording);
    load_job_config(recording);
    load_webhook_config(recording);
    load_csp_options(recording);
    load_niosxaas_options(recording);
    postgres_options_from_env("postgresql://broker@127.0.0.1:5432/broker", recording);
    dynamo_options_from_env("", "", "", recording);
    load_shutdown_drain(recording);
    try {
        load_admin_connection(recording, std::nullopt, std::nullopt, std::chrono::seconds(1));
    } catch (const ConfigError&) {
        // no admin token in an empty environment: the names were read all the same
    }
    load_allocate_wait_options(recording);
    load_event_stream_options(recording);
    events_enabled_from_env(recording);
    // The credential chain reads further names only on some branches: walk each one (keys
    // given; a full URI given; nothing given, down to instance metadata).
    const ManualClock clock;
    for (const char* given : {"AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI", ""}) {
        const EnvLookup branch = [&asked, given](const std::string& name) -> std::optional<std::string> {
            asked.insert(name);
            if (name == given ||
                (std::string(given) == "AWS_ACCESS_KEY_ID" && name == "AWS_SECRET_ACCESS_KEY")) {
                return name == "AWS_CONTAINER_CREDENTIALS_FULL_URI" ? "http://127.0.0.1:1/creds" : "x";
            }
            return std::nullopt;
        };
        aws_credential_chain(branch, clock);
    }
    return asked;
}

// A name the original service used and this broker handles in its own table (refused with a
// message, or accepted and ignored) is not one of its settings.
bool original_name_only(const std::string& name) {
    const LegacySetting* legacy = find_legacy_setting(name);
    return legacy && legacy->treatment != LegacyTreatment::same;
}

TEST(SettingsCatalog, EveryNameAReaderReadsIsInTheCatalog) {
    for (const auto& name : names_the_readers_read()) {
        if (original_name_only(name) || is_secret_file_setting(name)) continue;
        EXPECT_NE(find_setting(name), nullptr) << name << " is read but missing from core/settings_catalog";
    }
}

TEST(SettingsCatalog, EveryCatalogNameIsRead) {
    const auto asked = names_the_readers_read();
    for (const auto& setting : settings_catalog()) {
        EXPECT_TRUE(asked.contains(std::string(setting.name)))
            << setting.name << " is in the catalog but no reader reads it";
    }
}

TEST(SettingsCatalog, NamesAreUniqueAndEveryEntryIsDescribed) {
    std::set<std::string_view> seen;
    for (const auto& setting : settings_catalog()) {
        EXPECT_TRUE(seen.insert(setting.name).second) << setting.name << " is listed twice";
        EXPECT_FALSE(setting.meaning.empty()) << setting.name;
        EXPECT_EQ(setting.meaning.find('\n'), std::string_view::npos) << setting.name;
    }
}

TEST(SettingsCatalog, TheCredentialsAreSecrets) {
    for (const char* name : {"BROKER_API_TOKEN", "BROKER_ADMIN_TOKEN", "CSP_API_TOKEN", "NIOSXAAS_PASSWORD",
                             "BROKER_STORE", "METRICS_TOKEN"}) {
        const SettingInfo* setting = find_setting(name);
        ASSERT_NE(setting, nullptr) << name;
        EXPECT_TRUE(setting->secret) << name;
    }
    EXPECT_FALSE(find_setting("BROKER_LISTEN")->secret);
}

// The defaults printed are the ones the readers apply (spot checks across the readers).
TEST(SettingsCatalog, DefaultsAreTheReadersDefaults) {
    const EnvLookup empty = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    const Config config = load_config(empty);
    EXPECT_EQ(find_setting("BROKER_LISTEN")->default_value, config.listen);
    EXPECT_EQ(find_setting("BROKER_STORE")->default_value, config.store);
    // Derived from the usable cores: unset in the catalog, the meaning says how.
    EXPECT_EQ(find_setting("HTTP_THREADS")->default_value, "");
    EXPECT_EQ(config.http_threads, default_http_threads(usable_cores()));
    EXPECT_EQ(find_setting("STORE_THREADS")->default_value, "");
    EXPECT_EQ(config.store_threads, default_store_threads(usable_cores()));
    EXPECT_EQ(find_setting("LAB_DURATION_SEC")->default_value,
              std::to_string(config.lease.lab_duration.count()));
    const JobConfig jobs = load_job_config(empty);
    EXPECT_EQ(find_setting("SYNC_INTERVAL_SEC")->default_value, std::to_string(jobs.sync_interval.count()));
    EXPECT_EQ(find_setting("CLEANUP_INTERVAL_SEC")->default_value,
              std::to_string(jobs.cleanup_interval.count()));
    EXPECT_EQ(find_setting("AUTO_EXPIRY_INTERVAL_SEC")->default_value,
              std::to_string(jobs.auto_expiry_interval.count()));
    const AllocateWaitOptions wait = load_allocate_wait_options(empty);
    EXPECT_EQ(find_setting("ALLOCATE_MAX_WAIT_SEC")->default_value, std::to_string(wait.max_wait.count()));
    EXPECT_EQ(find_setting("ALLOCATE_MAX_WAITERS")->default_value, std::to_string(wait.max_waiters));
    EXPECT_EQ(find_setting("ALLOCATE_WAIT_POLL_MS")->default_value, std::to_string(wait.poll.count()));
    const auto pg = postgres_options_from_env("postgresql://broker@127.0.0.1/broker", empty);
    EXPECT_EQ(find_setting("DB_POOL_SIZE")->default_value, std::to_string(pg.pool_size));
    const auto dynamo = dynamo_options_from_env("", "", "", empty);
    EXPECT_EQ(find_setting("DDB_COUNT_RECONCILE_SEC")->default_value,
              std::to_string(dynamo.count_reconcile_period.count()));
}

TEST(SettingsCommand, JsonListsTheCatalogAndTheOriginalsAcceptedNames) {
    std::ostringstream out;
    EXPECT_EQ(settings_command({.json = true}, out), 0);
    const auto doc = nlohmann::json::parse(out.str());
    std::set<std::string> names;
    for (const auto& s : doc.at("settings")) {
        names.insert(s.at("name").get<std::string>());
        EXPECT_FALSE(s.at("meaning").get<std::string>().empty());
    }
    EXPECT_EQ(names.size(), doc.at("settings").size());
    for (const auto& setting : settings_catalog()) EXPECT_TRUE(names.contains(std::string(setting.name)));
    EXPECT_TRUE(names.contains("API_BASE_PATH"));  // an alias still read
    EXPECT_FALSE(names.contains("METRICS_PORT"));  // refused at start-up: no setting
    EXPECT_FALSE(names.contains("DDB_*"));         // a prefix names no variable
}

TEST(SettingsCommand, TableHasOneLinePerSetting) {
    std::ostringstream json_out, table_out;
    settings_command({.json = true}, json_out);
    settings_command({.json = false}, table_out);
    const auto count = nlohmann::json::parse(json_out.str()).at("settings").size();
    std::size_t lines = 0;
    for (char c : table_out.str()) lines += c == '\n';
    EXPECT_EQ(lines, count + 2);  // the heading and the closing note
    EXPECT_NE(table_out.str().find("BROKER_API_TOKEN"), std::string::npos);
}

}  // namespace
}  // namespace broker
