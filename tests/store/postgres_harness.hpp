// The PostgreSQL side of the conformance suite: each test gets a schema of its own in the
// database of BROKER_TEST_POSTGRES_URL (CREATE SCHEMA, dropped with everything in it after).
#pragma once

#include <memory>
#include <string>

#include "store/postgres/postgres_store.hpp"
#include "store_harness.hpp"

namespace broker::testing {

// A fresh schema in the database at `url`; removed when the object goes.
class PostgresSchema {
  public:
    explicit PostgresSchema(std::string url);
    PostgresSchema(const PostgresSchema&) = delete;
    PostgresSchema& operator=(const PostgresSchema&) = delete;
    ~PostgresSchema();

    const std::string& url() const { return url_; }
    const std::string& name() const { return name_; }
    // Store options for this schema (pool and timeouts at their defaults).
    PostgresOptions options() const;
    // Runs SQL in this schema on a connection of its own (for tests that look behind the store).
    void exec(const std::string& sql) const;

  private:
    std::string url_;
    std::string name_;
};

std::unique_ptr<StoreHarness> make_postgres_harness(const std::string& url);

// The URL of the test server, or empty when none is configured.
std::string test_postgres_url();

}  // namespace broker::testing
