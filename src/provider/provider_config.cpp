// Reading the provider settings. Kept beside the clients so that a new option and the
// variable that sets it are added in one place.
#include "provider/provider_config.hpp"

#include <cctype>
#include <charconv>

#include "core/env_value.hpp"
#include "core/errors.hpp"

namespace broker {
namespace {

template <class T>
void read_number(const EnvLookup& env, const std::string& name, T min, T max, T& target) {
    if (auto value = env_number<T>(env, name, min, max)) target = *value;
}

void read_bool(const EnvLookup& env, const std::string& name, bool& target) {
    if (auto value = env_bool(env, name)) target = *value;
}

void read_string(const EnvLookup& env, const std::string& name, std::string& target) {
    if (auto value = env_text(env, name)) target = *value;
}

void read_seconds_as_ms(const EnvLookup& env, const std::string& name, std::chrono::milliseconds& target) {
    double seconds = std::chrono::duration<double>(target).count();
    read_number(env, name, 0.001, 3600.0, seconds);
    target = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

bool is_http_url(const std::string& url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

}  // namespace

CspClientOptions load_csp_options(const EnvLookup& env) {
    CspClientOptions o;
    read_string(env, "CSP_BASE_URL", o.base_url);
    read_string(env, "CSP_API_TOKEN", o.token);
    read_seconds_as_ms(env, "CSP_TIMEOUT_CONNECT_SEC", o.connect_timeout);
    read_seconds_as_ms(env, "CSP_TIMEOUT_READ_SEC", o.read_timeout);
    read_number(env, "CIRCUIT_BREAKER_THRESHOLD", 1, 1000, o.breaker_threshold);
    std::int64_t breaker_sec = o.breaker_timeout.count();
    read_number<std::int64_t>(env, "CIRCUIT_BREAKER_TIMEOUT_SEC", 0, 86400, breaker_sec);
    o.breaker_timeout = std::chrono::seconds(breaker_sec);
    read_number(env, "PROVIDER_MAX_ATTEMPTS", 1, 100, o.max_attempts);
    read_number(env, "PROVIDER_RATE_LIMIT_RPS", 0.0, 10000.0, o.rate_limit_rps);
    o.rate_limit_burst = std::max(1.0, o.rate_limit_rps);
    read_number(env, "PROVIDER_RATE_LIMIT_BURST", 1.0, 10000.0, o.rate_limit_burst);
    std::int64_t base_ms = o.backoff.base.count();
    std::int64_t cap_ms = o.backoff.cap.count();
    read_number<std::int64_t>(env, "PROVIDER_BACKOFF_BASE_MS", 0, 3'600'000, base_ms);
    read_number<std::int64_t>(env, "PROVIDER_BACKOFF_CAP_MS", 0, 3'600'000, cap_ms);
    if (cap_ms < base_ms)
        throw ConfigError("PROVIDER_BACKOFF_CAP_MS must not be below PROVIDER_BACKOFF_BASE_MS");
    o.backoff = {std::chrono::milliseconds(base_ms), std::chrono::milliseconds(cap_ms)};
    std::int64_t max_wait = o.max_retry_wait.count();
    read_number<std::int64_t>(env, "PROVIDER_MAX_RETRY_WAIT_SEC", 0, 3600, max_wait);
    o.max_retry_wait = std::chrono::seconds(max_wait);
    return o;
}

void validate_csp_options(const CspClientOptions& o) {
    if (o.base_url.empty()) throw ConfigError("CSP_BASE_URL is not set");
    if (!is_http_url(o.base_url)) throw ConfigError("CSP_BASE_URL must start with http:// or https://");
    if (o.token.empty()) throw ConfigError("CSP_API_TOKEN is not set");
}

NiosxaasOptions load_niosxaas_options(const EnvLookup& env) {
    NiosxaasOptions o;
    read_bool(env, "NIOSXAAS_ENABLED", o.enabled);
    read_string(env, "NIOSXAAS_BASE_URL", o.base_url);
    read_string(env, "NIOSXAAS_EMAIL", o.email);
    if (auto password = env("NIOSXAAS_PASSWORD"))
        o.password = *password;  // untrimmed: spaces may be part of it
    read_string(env, "NIOSXAAS_SERVICE_NAME", o.service_name);
    read_bool(env, "NIOSXAAS_SHADOW_MODE", o.shadow_mode);
    read_seconds_as_ms(env, "NIOSXAAS_TIMEOUT_SEC", o.timeout);
    if (o.enabled) {
        if (!is_http_url(o.base_url))
            throw ConfigError("NIOSXAAS_BASE_URL must be an http(s) URL when NIOSXAAS_ENABLED");
        if (o.email.empty()) throw ConfigError("NIOSXAAS_EMAIL is not set but NIOSXAAS_ENABLED is");
        if (o.password.empty()) throw ConfigError("NIOSXAAS_PASSWORD is not set but NIOSXAAS_ENABLED is");
        if (o.service_name.empty()) throw ConfigError("NIOSXAAS_SERVICE_NAME must not be empty");
    }
    return o;
}

}  // namespace broker
