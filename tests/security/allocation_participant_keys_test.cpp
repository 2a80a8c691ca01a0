// Threat: draining the pool, or locking a participant out, through Idempotency-Key. If keys
// alone deduplicated allocations, a participant sending a new key on every request (or on
// many connections at once) would take a new sandbox each time, and a participant sending
// another's id as its key would leave that other participant refused forever. Keys are the
// participant's own, and a participant holds at most MAX_SANDBOXES_PER_PARTICIPANT (1).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

TEST(AllocationParticipantKeys, NewKeysFromOneParticipantGetTheOneSandboxItHolds) {
    BrokerInstance broker(sandboxes("keys-", 10, 740000));
    auto client = broker.client();
    const std::string participant = unique_participant("greedy");
    const auto first = allocate(client, participant, {{"Idempotency-Key", "key-0"}});
    ASSERT_EQ(first.status, 201) << first.body;
    for (int i = 1; i <= 5; ++i) {
        const auto again = allocate(client, participant, {{"Idempotency-Key", "key-" + std::to_string(i)}});
        EXPECT_EQ(again.status, 200) << again.body;
        EXPECT_EQ(again.json["sandbox_id"], first.json["sandbox_id"]);
    }
    // The rest of the pool is still there for others.
    const auto other = allocate(client, unique_participant("other"));
    EXPECT_EQ(other.status, 201) << other.body;
}

TEST(AllocationParticipantKeys, FiftyRacingConnectionsWithDistinctKeysTakeOneSandbox) {
    constexpr int kConnections = 50;
    BrokerInstance broker(sandboxes("race-", kConnections, 741000));
    const std::string participant = unique_participant("racer");
    const auto result = burst(broker, kConnections, [&](HttpClient& client, int i) {
        return allocate(client, participant, {{"Idempotency-Key", "race-" + std::to_string(i)}});
    });
    int created = 0;
    std::set<std::string> ids;
    for (int i = 0; i < kConnections; ++i) {
        ASSERT_EQ(result.failures[static_cast<std::size_t>(i)], "");
        const auto& res = result.responses[static_cast<std::size_t>(i)];
        ASSERT_TRUE(res.status == 201 || res.status == 200) << res.status << " " << res.body;
        created += res.status == 201;
        ids.insert(res.json["sandbox_id"].get<std::string>());
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(ids.size(), 1u);
}

TEST(AllocationParticipantKeys, UsingAnotherParticipantsIdAsTheKeyDoesNotLockItOut) {
    BrokerInstance broker(sandboxes("squat-", 3, 742000));
    auto client = broker.client();
    const std::string victim = unique_participant("victim");
    const auto squatter = allocate(client, unique_participant("squatter"), {{"Idempotency-Key", victim}});
    ASSERT_EQ(squatter.status, 201) << squatter.body;

    // The victim sends no key, so its key is its own id: the squatter's equal key is another key.
    const auto mine = allocate(client, victim);
    ASSERT_EQ(mine.status, 201) << mine.body;
    EXPECT_NE(mine.json["sandbox_id"], squatter.json["sandbox_id"]);
    const auto again = allocate(client, victim);
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.json["sandbox_id"], mine.json["sandbox_id"]);
}

TEST(AllocationParticipantKeys, ARaisedLimitIsKeptAndBeyondItIsAClear409) {
    Environment env = serving_env();
    env["MAX_SANDBOXES_PER_PARTICIPANT"] = "2";
    BrokerInstance broker(sandboxes("pair-", 5, 743000), env);
    auto client = broker.client();
    const std::string participant = unique_participant("migration-lab");
    EXPECT_EQ(allocate(client, participant, {{"Idempotency-Key", "source"}}).status, 201);
    EXPECT_EQ(allocate(client, participant, {{"Idempotency-Key", "target"}}).status, 201);
    EXPECT_EQ(allocate(client, participant, {{"Idempotency-Key", "target"}}).status, 200);
    const auto third = allocate(client, participant, {{"Idempotency-Key", "extra"}});
    EXPECT_EQ(third.status, 409) << third.body;
    EXPECT_EQ(error_code(third), "PARTICIPANT_LIMIT_REACHED");
    EXPECT_FALSE(third.has_header("Retry-After"));
}

}  // namespace
}  // namespace broker::e2e
