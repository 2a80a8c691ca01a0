// The blocking pool's size as `run` starts it on PostgreSQL, from its start-up line: unset,
// STORE_THREADS stays within DB_POOL_SIZE (threads beyond the pool would only wait for a
// connection); set, it is kept as it is.
#include <gtest/gtest.h>

#include "e2e/broker_fixture.hpp"
#include "e2e/ha_fixture.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

TEST(StoreThreads, OnPostgresTheDefaultStaysWithinThePoolAndASetValueIsKept) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    TempDir dir;
    PgSchema db(*url);
    db.migrate_and_import(sandboxes("threads-", 2, 7'800'000), dir.path());
    // One pooled connection: fewer than the default on any machine (at least 8).
    const std::vector<std::pair<Environment, std::string>> cases = {
        {{{"DB_POOL_SIZE", "1"}}, "store_threads=1 "},
        {{{"DB_POOL_SIZE", "1"}, {"STORE_THREADS", "5"}}, "store_threads=5 "},
    };
    for (const auto& [settings, expected] : cases) {
        SCOPED_TRACE(expected);
        Environment env = db.env(settings);
        env["LOG_LEVEL"] = "info";  // the start-up line is an info line
        BrokerProcess broker(db.url(), env, dir.path());
        EXPECT_TRUE(broker.wait_for_line(expected, 10s)) << broker.out();
        EXPECT_EQ(broker.stop(), 0);
    }
}

}  // namespace
}  // namespace broker::e2e
