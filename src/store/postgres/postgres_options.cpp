// Reading the PostgreSQL store's settings from the environment: see postgres_options.hpp.
#include "store/postgres/postgres_options.hpp"

#include <charconv>
#include <optional>

#include "core/env_value.hpp"
#include "core/errors.hpp"

namespace broker {
namespace {

// An empty value counts as unset here (DB_POOL_SIZE= in a .env file keeps the default).
std::optional<long> number(const EnvLookup& env, const std::string& name, long min, long max) {
    const auto text = env(name);
    if (!text || text->empty()) return std::nullopt;
    return env_number<long>(env, name, min, max);
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
