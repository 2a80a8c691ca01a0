// Reading the webhook settings: see webhook_config.hpp.
#include "jobs/webhook_config.hpp"

#include <cmath>
#include <string>

#include "core/errors.hpp"

namespace broker {
namespace {

std::optional<std::int64_t> whole(const EnvLookup& env, const std::string& name, double min, double max) {
    const auto value = env_number<double>(env, name, min, max);
    if (!value) return std::nullopt;
    if (*value != std::floor(*value))
        throw ConfigError(name + "=" + *env_text(env, name) + " must be a whole number");
    return static_cast<std::int64_t>(*value);
}

}  // namespace

WebhookConfig load_webhook_config(const EnvLookup& env) {
    constexpr double kDay = 86400;
    WebhookConfig c;
    if (auto v = env_bool(env, "WEBHOOK_ALLOW_PRIVATE_TARGETS")) c.allow_private_targets = *v;
    if (auto v = whole(env, "WEBHOOK_TIMEOUT_SEC", 1, 300)) c.timeout = std::chrono::seconds(*v);
    if (auto v = whole(env, "WEBHOOK_MAX_IN_FLIGHT", 1, 256)) c.max_in_flight = static_cast<int>(*v);
    if (auto v = whole(env, "WEBHOOK_MAX_RETRY_SEC", 0, 30 * kDay)) c.max_retry = std::chrono::seconds(*v);
    if (auto v = env_number<double>(env, "WEBHOOK_RETRY_BASE_SEC", 0.001, kDay)) {
        c.retry_base = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*v * 1000)));
    }
    if (auto v = whole(env, "WEBHOOK_RETRY_CAP_SEC", 1, kDay)) c.retry_cap = std::chrono::seconds(*v);
    if (auto v = whole(env, "WEBHOOK_DISABLE_AFTER_SEC", 1, 30 * kDay))
        c.disable_after = std::chrono::seconds(*v);
    if (auto v = whole(env, "WEBHOOK_DISABLE_AFTER_FAILURES", 0, 1000000)) {
        c.disable_after_failures = static_cast<int>(*v);
    }
    if (auto v = whole(env, "WEBHOOK_POLL_MS", 10, 60000)) c.poll = std::chrono::milliseconds(*v);
    return c;
}

}  // namespace broker
