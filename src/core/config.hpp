// Settings of the broker, read from environment variables (the original's names), an
// optional .env file, and command-line flags (applied by main.cpp, which override both).
// A bad value stops start-up with a ConfigError naming the setting.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env_value.hpp"
#include "core/lifecycle.hpp"

namespace broker {

struct Config {
    std::string listen = "127.0.0.1:8080";        // BROKER_LISTEN: loopback unless told otherwise
    std::string store = "sqlite:data/broker.db";  // BROKER_STORE
    std::string base_path = "/v1";                // BROKER_BASE_PATH
    std::string api_token;                        // BROKER_API_TOKEN
    std::string admin_token;                      // BROKER_ADMIN_TOKEN
    LeasePolicy lease;                            // LAB_DURATION_*, LAB_MAX_DURATION_SEC, GRACE_PERIOD_*
    int http_threads = 2;                         // HTTP_THREADS (load_config: from the cores)
    int store_threads = 64;                       // STORE_THREADS: blocking pool (cores; fit_store_threads)
    bool store_threads_set = false;               // STORE_THREADS given: no default replaces it
    int store_queue_max = 4096;                   // STORE_QUEUE_MAX: beyond it, 503
    std::size_t max_body_bytes = 64 * 1024;       // MAX_BODY_BYTES
    std::size_t max_header_bytes = 16 * 1024;     // MAX_HEADER_BYTES
    std::chrono::seconds read_timeout{30};        // HTTP_READ_TIMEOUT_SEC
    std::chrono::seconds idle_timeout{75};        // HTTP_IDLE_TIMEOUT_SEC
    int no_sandboxes_retry_after_sec = 30;        // NO_SANDBOXES_RETRY_AFTER_SEC
    int max_sandboxes_per_participant = 1;        // MAX_SANDBOXES_PER_PARTICIPANT: live allocations each
    bool rate_limit_enabled = true;               // RATE_LIMIT_ENABLED
    double rate_limit_rps = 50;                   // RATE_LIMIT_RPS
    double rate_limit_burst = 200;                // RATE_LIMIT_BURST
    std::string log_level = "info";               // LOG_LEVEL
    std::string log_format = "json";              // LOG_FORMAT
    // Other credentials the process may hold (CSP_API_TOKEN, NIOSXAAS_PASSWORD): never used
    // from here, only masked wherever a log line would carry them.
    std::vector<std::string> other_secrets;
    // CORS_ALLOWED_ORIGINS: origins (`scheme://host[:port]`) browsers may call from; "*" is
    // any origin; empty: no cross-origin access.
    std::vector<std::string> cors_allowed_origins;
    std::string trusted_proxies;                  // TRUSTED_PROXIES: CIDRs, checked by http/client_key
    std::chrono::seconds metrics_pool_cache{60};  // METRICS_POOL_CACHE_SEC
    // Settings of the original service accepted but ignored here (core/legacy_settings), one
    // line each, logged once when logging is set up.
    std::vector<std::string> setting_notes;
    // The edge's own bounds and the metrics endpoint's exposure.
    std::size_t max_connections = 4096;      // MAX_CONNECTIONS: beyond it, 503 and close
    double access_log_refused_per_sec = 20;  // ACCESS_LOG_REFUSED_PER_SEC: refused anonymous lines
    std::string metrics_listen;              // METRICS_LISTEN: HOST:PORT of a /metrics listener
    std::string metrics_token;               // METRICS_TOKEN: bearer token /metrics requires
    // The read-only role and the /dashboard page's sign-in (http/dashboard).
    std::string viewer_token;                              // BROKER_VIEWER_TOKEN: empty, no viewer token
    std::string dashboard_session_secret;                  // DASHBOARD_SESSION_SECRET: empty, derived
    std::chrono::seconds dashboard_session_ttl{8 * 3600};  // DASHBOARD_SESSION_TTL_SEC
    std::string dashboard_cookie_secure = "auto";          // DASHBOARD_COOKIE_SECURE: auto, true, false
    std::string dashboard_trusted_user_header;             // DASHBOARD_TRUSTED_USER_HEADER: empty, none
    std::string dashboard_trusted_user_role = "viewer";    // DASHBOARD_TRUSTED_USER_ROLE: viewer, admin
};

// The process environment, with values from `dotenv` (KEY=VALUE lines) beneath it, and the
// original service's other names for settings resolved (core/legacy_settings).
EnvLookup process_env(const std::map<std::string, std::string>& dotenv = {});

// The names set in the process environment or in `dotenv`.
std::vector<std::string> present_setting_names(const std::map<std::string, std::string>& dotenv = {});

// Parses a .env file; a missing file is an empty map, a malformed line a ConfigError.
std::map<std::string, std::string> read_dotenv(const std::string& path);

// The same for a file the operator named (--env-file): a missing one is a ConfigError.
std::map<std::string, std::string> read_required_dotenv(const std::string& path);

// Builds the configuration from defaults and the environment; throws ConfigError. `present`
// (the names set, see present_setting_names) is checked against the original's settings: a
// refused one stops start-up with a message naming its replacement.
Config load_config(const EnvLookup& env, const std::vector<std::string>& present = {});

// STORE_THREADS for a store that holds at most `store_connections` connections at once
// (DB_POOL_SIZE with PostgreSQL; nothing for SQLite and DynamoDB): unset, the default for
// `cores` but no more than the connections, since threads beyond them only wait for one. A
// given STORE_THREADS is kept.
void fit_store_threads(Config& c, std::optional<std::size_t> store_connections, int cores);

// Checks what the API needs to serve (tokens set, long enough, usable in a header, and
// distinct); throws ConfigError naming the setting, never showing the token.
void validate_for_serving(const Config& config);

// Tokens shorter than this are refused at start-up: guessable.
inline constexpr std::size_t kMinTokenLength = 16;

}  // namespace broker
