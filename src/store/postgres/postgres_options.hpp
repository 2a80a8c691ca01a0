// Settings of the PostgreSQL store: where the database is, which schema, and the bounds of
// its connection pool. Read from the environment (DB_POOL_SIZE, DB_STATEMENT_TIMEOUT_MS,
// DB_BULK_STATEMENT_TIMEOUT_MS, DB_POOL_WAIT_MS, DB_CONNECT_TIMEOUT_SEC, DB_SCHEMA) by
// postgres_options_from_env.
#pragma once

#include <cstddef>
#include <string>

#include "core/config.hpp"

namespace broker {

struct PostgresOptions {
    std::string url;                          // postgresql://user:pass@host:port/db (libpq URI form)
    std::string schema;                       // tables live here (search_path); empty: the server's default
    std::size_t pool_size = 16;               // connections at most; callers beyond it wait their turn
    int pool_wait_ms = 2000;                  // waiting longer than this for a connection answers Overloaded
    int statement_timeout_ms = 5000;          // the server cancels a statement running longer
    int bulk_statement_timeout_ms = 120'000;  // the same for the bulk statements (sync parts, import chunks)
    int connect_timeout_sec = 5;              // opening a connection gives up after this
    std::string application_name = "sandbox-broker";  // pg_stat_activity; letters, digits, - and _
};

// The options for `url` with the DB_* settings of `env` applied; throws ConfigError naming a
// setting whose value cannot be used.
PostgresOptions postgres_options_from_env(const std::string& url, const EnvLookup& env);

}  // namespace broker
