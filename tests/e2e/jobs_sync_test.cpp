// The sync job end to end, with the real simulator: `run` brings the provider's sandboxes into
// the pool (ignoring accounts that are not active sandboxes), vanished sandboxes become stale
// and bulk-delete removes them from the store only, and small pages visit every row once.
#include <gtest/gtest.h>

#include <set>

#include "e2e/jobs_fixture.hpp"
#include "runtime/http_client.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;

TEST(JobsSync, RunSyncsTheProvidersSandboxesAtStart) {
    SimProcess sim(sim_flags(30));
    SimBroker broker(jobs_env(sim));
    auto http = broker.client();

    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 30; }, 10s))
        << admin_stats(http).dump();
    const auto stats = admin_stats(http);
    EXPECT_EQ(stats["total"], 30) << "organization, trial and inactive accounts are not sandboxes";
    EXPECT_EQ(stats["stale"], 0);
    EXPECT_GE(sim.stats()["list_calls"], 1);

    // A participant can have one at once: the pool is real.
    const auto res = allocate(http, unique_participant("sync"));
    ASSERT_EQ(res.status, 201) << res.body;
    EXPECT_EQ(res.json["name"].get<std::string>().rfind("e2e-", 0), 0u);
}

TEST(JobsSync, VanishedSandboxesBecomeStaleAndBulkDeleteRemovesThem) {
    SimProcess sim(sim_flags(12));
    SimBroker broker(jobs_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 12; }, 10s));

    auto sim_http = sim.client();
    const std::vector<std::string> vanished = {"2009522", "2009525", "2009530"};
    for (const auto& id : vanished) ASSERT_EQ(sim_http.post("/_sim/accounts/" + id + "/vanish").status, 200);

    const auto sync = admin_post(http, "/v1/admin/sync?wait=30");
    ASSERT_EQ(sync.status, 200) << sync.body;
    EXPECT_EQ(sync.json["status"], "finished");
    EXPECT_EQ(sync.json["result"]["counts"]["marked_stale"], 3) << sync.body;
    EXPECT_EQ(sync.json["result"]["ok"], true);

    auto stats = admin_stats(http);
    EXPECT_EQ(stats["stale"], 3);
    EXPECT_EQ(stats["available"], 9);
    const auto stale_ids = list_all_ids(http, "status=stale", 10);
    EXPECT_EQ(std::set<std::string>(stale_ids.begin(), stale_ids.end()),
              std::set<std::string>(vanished.begin(), vanished.end()));

    const auto removed = admin_post(http, "/v1/admin/bulk-delete?status=stale");
    ASSERT_EQ(removed.status, 200) << removed.body;
    EXPECT_EQ(removed.json["removed"], 3);
    stats = admin_stats(http);
    EXPECT_EQ(stats["stale"], 0);
    EXPECT_EQ(stats["total"], 9);
    EXPECT_EQ(sim.stats()["delete_calls"], 0) << "bulk delete never calls the provider";

    // The removed sandbox is gone from the store; its history is not what GET answers.
    EXPECT_EQ(admin_get(http, "/v1/admin/sandboxes/2009522").status, 404);
}

TEST(JobsSync, SmallPagesVisitEverySandboxOnce) {
    SimProcess sim(sim_flags(37));
    SimBroker broker(jobs_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 37; }, 10s));
    for (int i = 0; i < 4; ++i) ASSERT_EQ(allocate(http, unique_participant("page")).status, 201);

    const auto ids = list_all_ids(http, "", 6);
    EXPECT_EQ(ids.size(), 37u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 37u) << "a sandbox was listed twice";

    const auto allocated = list_all_ids(http, "status=allocated", 3);
    EXPECT_EQ(allocated.size(), 4u);
    const auto available = list_all_ids(http, "status=available", 5);
    EXPECT_EQ(available.size(), 33u);
}

// 75 000 accounts make a list of about 18 MiB, past the 16 MiB a buffered answer may hold:
// the sync reads it as it arrives and takes every sandbox.
TEST(JobsSync, AListLargerThanABufferedAnswerIsSyncedWhole) {
    constexpr int kSandboxes = 75000;
    SimProcess sim(sim_flags(kSandboxes), 60s);
    const broker::HttpClient client;
    const broker::HttpRequest list{
        "GET", sim.url() + "/v2/current_user/accounts", {{"Authorization", "Token " + kSimToken}}, ""};
    const auto buffered = client.perform(list);
    ASSERT_FALSE(buffered.ok()) << "a buffered read refuses it";
    EXPECT_NE(buffered.error->message.find("larger than"), std::string::npos) << buffered.error->message;
    const auto stream = client.open(list, 30s);
    ASSERT_TRUE(stream->head().ok());
    std::size_t bytes = 0;
    char chunk[65536];
    while (const std::size_t n = stream->read(chunk, sizeof chunk)) bytes += n;
    ASSERT_FALSE(stream->error()) << stream->error()->message;
    ASSERT_GT(bytes, client.options().max_body_bytes) << "the list must be larger than a buffered answer";

    SimBroker broker(jobs_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == kSandboxes; }, 120s))
        << admin_stats(http).dump();
    // Vanish one and sync again: the stale marking after a streamed list finds exactly it.
    ASSERT_EQ(sim.client().post("/_sim/accounts/2009600/vanish").status, 200);
    const auto sync = admin_post(http, "/v1/admin/sync?wait=60");
    ASSERT_EQ(sync.status, 200) << sync.body;
    EXPECT_EQ(sync.json["result"]["ok"], true) << sync.body;
    EXPECT_EQ(sync.json["result"]["counts"]["listed"], kSandboxes - 1) << sync.body;
    EXPECT_EQ(sync.json["result"]["counts"]["marked_stale"], 1) << sync.body;
    EXPECT_EQ(admin_stats(http)["stale"], 1);
}

}  // namespace
}  // namespace broker::e2e
