// The original service's setting names: see legacy_settings.hpp.
#include "core/legacy_settings.hpp"

#include <algorithm>
#include <set>

#include "core/errors.hpp"
#include "core/secret_files.hpp"

namespace broker {
namespace {

using enum LegacyTreatment;

bool matches(const LegacySetting& entry, std::string_view name) {
    if (entry.name.ends_with('*')) return name.starts_with(entry.name.substr(0, entry.name.size() - 1));
    return entry.name == name;
}

}  // namespace

const std::vector<LegacySetting>& legacy_settings() {
    // Exact names come before the prefix entries that would also match them.
    static const std::vector<LegacySetting> table = {
        {"BROKER_API_TOKEN", same, "", ""},
        {"BROKER_ADMIN_TOKEN", same, "", ""},
        {"LAB_DURATION_HOURS", same, "", ""},
        {"GRACE_PERIOD_MINUTES", same, "", ""},
        {"SYNC_INTERVAL_SEC", same, "", ""},
        {"CLEANUP_INTERVAL_SEC", same, "", ""},
        {"CLEANUP_BATCH_SIZE", same, "", ""},
        {"CLEANUP_BATCH_DELAY_SEC", same, "", ""},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", same, "", ""},
        {"AUTO_EXPIRY_INTERVAL_SEC", same, "", ""},
        {"CSP_BASE_URL", same, "", ""},
        {"CSP_API_TOKEN", same, "", ""},
        {"CORS_ALLOWED_ORIGINS", same, "", ""},
        {"LOG_LEVEL", same, "", ""},
        {"NIOSXAAS_ENABLED", same, "", ""},
        {"NIOSXAAS_BASE_URL", same, "", ""},
        {"NIOSXAAS_EMAIL", same, "", ""},
        {"NIOSXAAS_PASSWORD", same, "", ""},
        {"NIOSXAAS_SERVICE_NAME", same, "", ""},
        {"NIOSXAAS_SHADOW_MODE", same, "", ""},
        {"NIOSXAAS_TIMEOUT_SEC", same, "", ""},
        {"API_BASE_PATH", alias, "BROKER_BASE_PATH", "the prefix of the API routes"},
        {"K_CANDIDATES", ignored, "",
         "allocation takes one available sandbox in one statement, so there are no candidates to "
         "spread conflicts over"},
        {"ENABLE_REQUEST_ID", on_only, "",
         "every answer carries X-Request-ID and every log line its request_id; they cannot be "
         "turned off"},
        {"BACKOFF_BASE_MS", refused, "PROVIDER_BACKOFF_BASE_MS",
         "allocation never retries here; the provider client's retry backoff is "
         "PROVIDER_BACKOFF_BASE_MS"},
        {"BACKOFF_MAX_MS", refused, "PROVIDER_BACKOFF_CAP_MS",
         "allocation never retries here; the provider client's retry backoff cap is "
         "PROVIDER_BACKOFF_CAP_MS"},
        {"METRICS_PORT", refused, "METRICS_LISTEN",
         "metrics are served on the API's port at /metrics, or on METRICS_LISTEN=HOST:PORT"},
        {"NIOSXAAS_CLEANUP_INTERVAL_SEC", refused, "CLEANUP_INTERVAL_SEC",
         "the NIOSXaaS step runs inside the cleanup job, before each deletion, at its interval"},
        {"NIOSXAAS_PER_SANDBOX_DELAY_SEC", refused, "CLEANUP_PER_SANDBOX_DELAY_SEC",
         "the NIOSXaaS step runs inside the cleanup job, paced by its per-sandbox delay"},
        {"NIOSXAAS_*", refused, "NIOSXAAS_ENABLED",
         "not a NIOSXaaS setting of this broker (NIOSXAAS_ENABLED, NIOSXAAS_BASE_URL, NIOSXAAS_EMAIL, "
         "NIOSXAAS_PASSWORD, NIOSXAAS_SERVICE_NAME, NIOSXAAS_SHADOW_MODE, NIOSXAAS_TIMEOUT_SEC)"},
        // The DynamoDB store's settings (store/dynamodb/dynamo_options.hpp): DDB_TABLE_NAME
        // alone (BROKER_STORE unset) chooses that store.
        {"DDB_TABLE_NAME", same, "", ""},
        {"DDB_GSI1_NAME", same, "", ""},
        {"DDB_GSI2_NAME", same, "", ""},
        {"DDB_GSI3_NAME", same, "", ""},
        {"DDB_ENDPOINT_URL", same, "", ""},
        {"DDB_*", refused, "AWS_REGION",
         "the DynamoDB store reads DDB_TABLE_NAME, DDB_GSI1_NAME, DDB_GSI2_NAME, DDB_GSI3_NAME, "
         "DDB_ENDPOINT_URL and AWS_REGION, with BROKER_STORE=dynamodb://TABLE"},
    };
    return table;
}

const LegacySetting* find_legacy_setting(std::string_view name) {
    const auto& table = legacy_settings();
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return matches(e, name); });
    return it == table.end() ? nullptr : &*it;
}

EnvLookup with_legacy_aliases(EnvLookup env) {
    return [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        if (auto value = env(name)) return value;
        for (const auto& entry : legacy_settings()) {
            if (entry.treatment == alias && entry.replacement == name) {
                if (auto value = env(std::string(entry.name))) return value;
            }
        }
        return std::nullopt;
    };
}

std::vector<std::string> check_legacy_settings(const std::vector<std::string>& present,
                                               const EnvLookup& env) {
    std::set<std::string> names(present.begin(), present.end());
    for (const auto& entry : legacy_settings()) {
        if (!entry.name.ends_with('*') && env(std::string(entry.name))) names.insert(std::string(entry.name));
    }
    std::vector<std::string> notes;
    for (const auto& name : names) {
        // A secret's file form (NIOSXAAS_PASSWORD_FILE) is that setting, whatever pattern it fits.
        if (is_secret_file_setting(name)) continue;
        const LegacySetting* entry = find_legacy_setting(name);
        if (!entry) continue;
        switch (entry->treatment) {
            case same:
                break;
            case alias: {
                const auto mine = env(std::string(entry->replacement));
                const auto theirs = env(name);
                if (mine && theirs && trim_setting(*mine) != trim_setting(*theirs)) {
                    throw ConfigError(name + " and " + std::string(entry->replacement) +
                                      " are both set, to different values; " + name +
                                      " is the original's name for " + std::string(entry->replacement) +
                                      ": set only " + std::string(entry->replacement));
                }
                break;
            }
            case on_only:
                if (!env_bool(env, name).value_or(true)) {
                    throw ConfigError(name + "=false cannot be honoured: " + std::string(entry->why) +
                                      "; remove the setting");
                }
                break;
            case ignored:
                notes.push_back(name + " is accepted and ignored: " + std::string(entry->why));
                break;
            case refused:
                throw ConfigError(name + " is not read by this broker; use " +
                                  std::string(entry->replacement) + " instead (" + std::string(entry->why) +
                                  ")");
        }
    }
    return notes;
}

}  // namespace broker
