// The live event stream across two `serve` replicas on one PostgreSQL schema: a change made
// through one replica reaches a stream client of the other within a second, and a client that
// moves to the other replica resumes there with its Last-Event-ID and misses nothing.
#include <gtest/gtest.h>

#include "e2e/ha_fixture.hpp"
#include "e2e/sse_client.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using testing_sse::SseStream;

TEST(EventStreamReplicas, AChangeThroughOneReplicaReachesTheOthersClientsAndTheyResumeThere) {
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    TempDir dir;
    PgSchema db(*url);
    db.migrate_and_import(sandboxes("sse-ha-", 10, 7'700'000), dir.path());
    const Environment env = db.env({{"DB_POOL_SIZE", "4"}, {"STORE_THREADS", "8"}});
    BrokerRole a("serve", db.url(), env, dir.path());
    BrokerRole b("serve", db.url(), env, dir.path());
    const SseStream::HeaderList admin{{"Authorization", "Bearer " + kAdminToken}};

    SseStream on_a(a.port(), "/v1/admin/events?type=sandbox.", admin);
    ASSERT_EQ(on_a.status(), 200);
    ASSERT_TRUE(on_a.wait_for_text("retry: ", 5s));
    auto http_b = b.client();
    const std::string p1 = unique_participant("sse-ha"), p2 = unique_participant("sse-ha");
    const auto first = allocate(http_b, p1);
    ASSERT_EQ(first.status, 201) << first.body;
    // Written through b, committed to the shared store, read by a's one reader.
    ASSERT_TRUE(on_a.wait_for_events(1, 1s)) << on_a.body();
    const auto seen = on_a.events().front();
    EXPECT_EQ(seen.type, "sandbox.allocated");
    EXPECT_NE(seen.data.find(first.json.value("sandbox_id", "?")), std::string::npos) << seen.data;
    on_a.close();

    // Missed while moving to b: a return and an allocation, through a.
    auto http_a = a.client();
    ASSERT_EQ(mark_for_deletion(http_a, first.json.value("sandbox_id", ""), p1).status, 200);
    ASSERT_EQ(allocate(http_a, p2).status, 201);
    SseStream on_b(b.port(), "/v1/admin/events?type=sandbox.",
                   {{"Authorization", "Bearer " + kAdminToken}, {"Last-Event-ID", seen.id}});
    ASSERT_TRUE(on_b.wait_for_events(2, 5s)) << on_b.body();
    const auto events = on_b.events();
    EXPECT_EQ(events[0].type, "sandbox.returned");
    EXPECT_EQ(events[1].type, "sandbox.allocated");
    EXPECT_GT(std::stoll(events[0].id), std::stoll(seen.id));
    EXPECT_GT(std::stoll(events[1].id), std::stoll(events[0].id));
}

}  // namespace
}  // namespace broker::e2e
