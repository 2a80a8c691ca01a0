#include "core/config.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/cpu_count.hpp"
#include "core/env_value.hpp"
#include "core/errors.hpp"
#include "core/legacy_settings.hpp"
#include "core/secret_files.hpp"

extern char** environ;

namespace broker {
namespace {

void set_string(const EnvLookup& env, const std::string& name, std::string& target) {
    if (auto value = env_text(env, name)) target = *value;
}

// An origin as browsers send it: scheme://host[:port], nothing after (no path, no slash).
bool is_origin(const std::string& text) {
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string::npos || scheme_end == 0) return false;
    const std::string scheme = text.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") return false;
    const std::string host = text.substr(scheme_end + 3);
    if (host.empty()) return false;
    for (char c : host) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                        c == '[' || c == ']';
        if (!ok) return false;
    }
    return true;
}

// CORS_ALLOWED_ORIGINS: comma-separated origins, or "*"; blanks between commas are ignored.
std::vector<std::string> parse_origins(const std::string& list) {
    std::vector<std::string> origins;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        const std::string origin = trim_setting(list.substr(start, comma - start));
        start = comma + 1;
        if (origin.empty()) continue;
        if (origin != "*" && !is_origin(origin)) {
            throw ConfigError("CORS_ALLOWED_ORIGINS entry \"" + origin +
                              "\" is not an origin (expected * or scheme://host[:port], without a path)");
        }
        origins.push_back(origin);
    }
    return origins;
}

// A bearer token must be sendable in `Authorization: Bearer <token>` (visible ASCII, no
// spaces: the header parser refuses anything else, so such a token could never work) and
// long enough not to be guessed. The message names the setting, never the value.
void check_token(const char* name, const std::string& token) {
    for (char ch : token) {
        const auto u = static_cast<unsigned char>(ch);
        if (u <= 0x20 || u >= 0x7f) {
            throw ConfigError(std::string(name) +
                              " contains a space, a control character or a non-ASCII byte: a bearer token "
                              "is visible ASCII only");
        }
    }
    if (token.size() < kMinTokenLength) {
        throw ConfigError(std::string(name) + " is shorter than " + std::to_string(kMinTokenLength) +
                          " characters: use a long random value (e.g. openssl rand -hex 32)");
    }
}

}  // namespace

EnvLookup process_env(const std::map<std::string, std::string>& dotenv) {
    // Secret files right above the raw lookup, so every reader (aliases, legacy checks,
    // masking) sees a secret the same way whether it came as NAME or as NAME_FILE.
    return with_legacy_aliases(
        with_secret_files([dotenv](const std::string& name) -> std::optional<std::string> {
            if (const char* value = std::getenv(name.c_str())) return std::string(value);
            if (auto it = dotenv.find(name); it != dotenv.end()) return it->second;
            return std::nullopt;
        }));
}

std::vector<std::string> present_setting_names(const std::map<std::string, std::string>& dotenv) {
    std::vector<std::string> names;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view text(*entry);
        names.emplace_back(text.substr(0, text.find('=')));
    }
    for (const auto& [name, value] : dotenv) names.push_back(name);
    return names;
}

std::map<std::string, std::string> read_required_dotenv(const std::string& path) {
    std::ifstream probe(path);
    if (!probe) throw ConfigError("cannot read the env file " + path + ": " + std::strerror(errno));
    return read_dotenv(path);
}

std::map<std::string, std::string> read_dotenv(const std::string& path) {
    std::map<std::string, std::string> values;
    std::ifstream in(path);
    if (!in) return values;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        line = trim_setting(line);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("export ", 0) == 0) line = trim_setting(line.substr(7));
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw ConfigError(path + ":" + std::to_string(number) + ": expected KEY=VALUE");
        }
        std::string value = trim_setting(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        values[trim_setting(line.substr(0, eq))] = value;
    }
    return values;
}

Config load_config(const EnvLookup& env, const std::vector<std::string>& present) {
    Config c;
    c.setting_notes = check_legacy_settings(present, env);
    set_string(env, "BROKER_LISTEN", c.listen);
    set_string(env, "BROKER_STORE", c.store);
    // The original service's table setting alone chooses the DynamoDB store (its table and
    // indexes from the DDB_* settings).
    if (!env("BROKER_STORE") && env("DDB_TABLE_NAME")) c.store = "dynamodb://";
    set_string(env, "BROKER_BASE_PATH", c.base_path);
    set_string(env, "BROKER_API_TOKEN", c.api_token);
    set_string(env, "BROKER_ADMIN_TOKEN", c.admin_token);
    set_string(env, "LOG_LEVEL", c.log_level);
    set_string(env, "LOG_FORMAT", c.log_format);
    for (const char* name : {"CSP_API_TOKEN", "NIOSXAAS_PASSWORD"}) {
        if (auto value = env(name); value && !trim_setting(*value).empty())
            c.other_secrets.push_back(trim_setting(*value));
    }

    // The *_SEC forms are precise and take precedence over the hour/minute forms.
    constexpr std::int64_t kYear = 366LL * 24 * 3600;
    if (auto sec = env_number<std::int64_t>(env, "LAB_DURATION_SEC", 1, kYear)) {
        c.lease.lab_duration = std::chrono::seconds(*sec);
    } else if (auto hours = env_number<double>(env, "LAB_DURATION_HOURS", 0.001, 24.0 * 366)) {
        c.lease.lab_duration = std::chrono::seconds(static_cast<std::int64_t>(*hours * 3600));
    }
    if (auto sec = env_number<std::int64_t>(env, "LAB_MAX_DURATION_SEC", 1, 2 * kYear)) {
        c.lease.max_duration = std::chrono::seconds(*sec);
        if (c.lease.max_duration < c.lease.lab_duration) {
            throw ConfigError("LAB_MAX_DURATION_SEC=" + std::to_string(*sec) +
                              " must be at least the lab duration (" +
                              std::to_string(c.lease.lab_duration.count()) + " s)");
        }
    }
    if (auto sec = env_number<std::int64_t>(env, "GRACE_PERIOD_SEC", 0, kYear)) {
        c.lease.grace_period = std::chrono::seconds(*sec);
    } else if (auto minutes = env_number<double>(env, "GRACE_PERIOD_MINUTES", 0, 60.0 * 24 * 366)) {
        c.lease.grace_period = std::chrono::seconds(static_cast<std::int64_t>(*minutes * 60));
    }

    // Unset, the thread counts follow the cores the process may use (core/cpu_count); once the
    // store is known, fit_store_threads bounds the store threads by its connections.
    c.http_threads = default_http_threads(usable_cores());
    c.store_threads = default_store_threads(usable_cores());
    if (auto v = env_number<int>(env, "HTTP_THREADS", 1, 256)) c.http_threads = *v;
    if (auto v = env_number<int>(env, "STORE_THREADS", 1, 1024)) {
        c.store_threads = *v;
        c.store_threads_set = true;
    }
    if (auto v = env_number<int>(env, "STORE_QUEUE_MAX", 1, 1'000'000)) c.store_queue_max = *v;
    if (auto v = env_number<std::size_t>(env, "MAX_BODY_BYTES", 0, 64 << 20)) c.max_body_bytes = *v;
    if (auto v = env_number<std::size_t>(env, "MAX_HEADER_BYTES", 1024, 1 << 20)) c.max_header_bytes = *v;
    if (auto v = env_number<int>(env, "HTTP_READ_TIMEOUT_SEC", 1, 3600))
        c.read_timeout = std::chrono::seconds(*v);
    if (auto v = env_number<int>(env, "HTTP_IDLE_TIMEOUT_SEC", 1, 3600))
        c.idle_timeout = std::chrono::seconds(*v);
    if (auto v = env_number<int>(env, "NO_SANDBOXES_RETRY_AFTER_SEC", 1, 3600))
        c.no_sandboxes_retry_after_sec = *v;
    if (auto v = env_number<int>(env, "MAX_SANDBOXES_PER_PARTICIPANT", 1, 1000))
        c.max_sandboxes_per_participant = *v;
    if (auto v = env_bool(env, "RATE_LIMIT_ENABLED")) c.rate_limit_enabled = *v;
    // 0 turns the limit off, as PROVIDER_RATE_LIMIT_RPS=0 does toward the provider.
    if (auto v = env_number<double>(env, "RATE_LIMIT_RPS", 0, 1e9)) {
        if (*v == 0) {
            c.rate_limit_enabled = false;
        } else {
            c.rate_limit_rps = *v;
        }
    }
    if (auto v = env_number<double>(env, "RATE_LIMIT_BURST", 1, 1e9)) c.rate_limit_burst = *v;
    if (auto v = env_number<int>(env, "METRICS_POOL_CACHE_SEC", 0, 86400)) {
        c.metrics_pool_cache = std::chrono::seconds(*v);
    }
    if (auto v = env_number<std::size_t>(env, "MAX_CONNECTIONS", 1, 1'000'000)) c.max_connections = *v;
    if (auto v = env_number<double>(env, "ACCESS_LOG_REFUSED_PER_SEC", 0, 1e6))
        c.access_log_refused_per_sec = *v;
    set_string(env, "METRICS_LISTEN", c.metrics_listen);
    set_string(env, "METRICS_TOKEN", c.metrics_token);
    if (!c.metrics_token.empty()) c.other_secrets.push_back(c.metrics_token);
    if (auto v = env("CORS_ALLOWED_ORIGINS")) c.cors_allowed_origins = parse_origins(*v);
    set_string(env, "TRUSTED_PROXIES", c.trusted_proxies);
    set_string(env, "BROKER_VIEWER_TOKEN", c.viewer_token);
    if (!c.viewer_token.empty()) c.other_secrets.push_back(c.viewer_token);
    set_string(env, "DASHBOARD_SESSION_SECRET", c.dashboard_session_secret);
    if (!c.dashboard_session_secret.empty()) c.other_secrets.push_back(c.dashboard_session_secret);
    if (auto v = env_number<int>(env, "DASHBOARD_SESSION_TTL_SEC", 60, 7 * 86400))
        c.dashboard_session_ttl = std::chrono::seconds(*v);
    set_string(env, "DASHBOARD_COOKIE_SECURE", c.dashboard_cookie_secure);
    set_string(env, "DASHBOARD_TRUSTED_USER_HEADER", c.dashboard_trusted_user_header);
    set_string(env, "DASHBOARD_TRUSTED_USER_ROLE", c.dashboard_trusted_user_role);

    if (c.base_path.empty() || c.base_path.front() != '/' ||
        (c.base_path.size() > 1 && c.base_path.back() == '/')) {
        throw ConfigError("BROKER_BASE_PATH=\"" + c.base_path +
                          "\" must start with '/' and not end with one");
    }
    if (c.dashboard_cookie_secure != "auto" && c.dashboard_cookie_secure != "true" &&
        c.dashboard_cookie_secure != "false") {
        throw ConfigError("DASHBOARD_COOKIE_SECURE=\"" + c.dashboard_cookie_secure +
                          "\" must be auto, true or false");
    }
    if (c.dashboard_trusted_user_role != "viewer" && c.dashboard_trusted_user_role != "admin") {
        throw ConfigError("DASHBOARD_TRUSTED_USER_ROLE=\"" + c.dashboard_trusted_user_role +
                          "\" must be viewer or admin");
    }
    if (c.log_format != "json" && c.log_format != "text") {
        throw ConfigError("LOG_FORMAT=\"" + c.log_format + "\" must be json or text");
    }
    return c;
}

void fit_store_threads(Config& c, std::optional<std::size_t> store_connections, int cores) {
    if (!c.store_threads_set) c.store_threads = default_store_threads(cores, store_connections);
}

void validate_for_serving(const Config& c) {
    if (c.api_token.empty())
        throw ConfigError("BROKER_API_TOKEN is not set: participants could not authenticate");
    if (c.admin_token.empty())
        throw ConfigError("BROKER_ADMIN_TOKEN is not set: admins could not authenticate");
    check_token("BROKER_API_TOKEN", c.api_token);
    check_token("BROKER_ADMIN_TOKEN", c.admin_token);
    if (!c.metrics_token.empty()) check_token("METRICS_TOKEN", c.metrics_token);
    if (c.api_token == c.admin_token) {
        throw ConfigError("BROKER_API_TOKEN and BROKER_ADMIN_TOKEN must differ");
    }
    if (!c.viewer_token.empty()) {
        check_token("BROKER_VIEWER_TOKEN", c.viewer_token);
        if (c.viewer_token == c.api_token || c.viewer_token == c.admin_token)
            throw ConfigError("BROKER_VIEWER_TOKEN must differ from BROKER_API_TOKEN and BROKER_ADMIN_TOKEN");
    }
    if (!c.dashboard_session_secret.empty() && c.dashboard_session_secret.size() < kMinTokenLength) {
        throw ConfigError("DASHBOARD_SESSION_SECRET is shorter than " + std::to_string(kMinTokenLength) +
                          " characters: use a long random value (e.g. openssl rand -hex 32)");
    }
}

}  // namespace broker
