// Reading the PostgreSQL store's settings from the environment: see postgres_options.hpp.
#include "store/postgres/postgres_options.hpp"

#include <charconv>
#include <optional>

#include "core/errors.hpp"

namespace broker {
namespace {

std::optional<long> number(const EnvLookup& env, const std::string& name, long min, long max) {
    const auto text = env(name);
    if (!text || text->empty()) return std::nullopt;
    long value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
        throw ConfigError(name + "=\"" + *text + "\": expected a whole number from " + std::to_string(min) +
                          " to " + std::to_string(max));
    }
    return value;
}

}  // namespace

PostgresOptions postgres_options_from_env(const std::string& url, const EnvLookup& env) {
    PostgresOptions options;
    options.url = url;
    if (auto v = number(env, "DB_POOL_SIZE", 1, 1000)) options.pool_size = static_cast<std::size_t>(*v);
    if (auto v = number(env, "DB_POOL_WAIT_MS", 1, 600'000)) options.pool_wait_ms = static_cast<int>(*v);
    if (auto v = number(env, "DB_STATEMENT_TIMEOUT_MS", 1, 3'600'000))
        options.statement_timeout_ms = static_cast<int>(*v);
    if (auto v = number(env, "DB_BULK_STATEMENT_TIMEOUT_MS", 1, 3'600'000)) {
        options.bulk_statement_timeout_ms = static_cast<int>(*v);
    }
    if (auto v = number(env, "DB_CONNECT_TIMEOUT_SEC", 1, 600))
        options.connect_timeout_sec = static_cast<int>(*v);
    if (auto v = env("DB_SCHEMA")) options.schema = *v;
    return options;
}

}  // namespace broker
