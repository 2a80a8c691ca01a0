// Threat: spending someone else's rate limit, or escaping one's own. The participant id is a
// header the caller chooses; if the limiter believed it before the token was checked, anyone
// without a token could flood requests naming a participant until that participant got 429,
// and could name a new participant on every request to never be limited at all. Requests
// without a valid participant token must count against the client address instead.
#include <gtest/gtest.h>

#include <string>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

constexpr int kBurst = 5;

// A small bucket that does not refill during a test (one token per 1000 s).
Environment limited_env() {
    Environment env = serving_env();
    env["RATE_LIMIT_ENABLED"] = "true";
    env["RATE_LIMIT_BURST"] = std::to_string(kBurst);
    env["RATE_LIMIT_RPS"] = "0.001";
    return env;
}

HttpResponse allocate_with_token(HttpClient& client, const std::string& token,
                                 const std::string& participant) {
    Headers headers{{"X-Instruqt-Sandbox-ID", participant}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client.post("/v1/allocate", headers);
}

void expect_rate_limited(const HttpResponse& res) {
    EXPECT_EQ(res.status, 429) << res.body;
    EXPECT_EQ(error_code(res), "RATE_LIMIT_EXCEEDED");
    EXPECT_FALSE(res.header("Retry-After").empty());
    EXPECT_EQ(res.header("X-RateLimit-Limit"), std::to_string(kBurst));
    EXPECT_EQ(res.header("X-RateLimit-Remaining"), "0");
}

TEST(RateLimitSpoofedParticipant, TokenlessFloodNamingAVictimLeavesTheVictimAllocating) {
    BrokerInstance broker(sandboxes("spoof-", 3, 730000), limited_env());
    const std::string victim = unique_participant("victim");
    auto attacker = broker.client();
    for (int i = 0; i < 4 * kBurst; ++i) {
        const auto res = allocate_with_token(attacker, "", victim);
        if (i < kBurst) {
            EXPECT_EQ(res.status, 401) << i << " " << res.body;
        } else {
            expect_rate_limited(res);
        }
    }
    // The flood spent the attacker's address bucket, not the victim's: the victim (here on
    // the same address, as participants behind one NAT would be) still allocates.
    auto client = broker.client();
    const auto mine = allocate(client, victim);
    EXPECT_EQ(mine.status, 201) << mine.body;
    EXPECT_EQ(mine.header("X-RateLimit-Remaining"), std::to_string(kBurst - 1));
}

TEST(RateLimitSpoofedParticipant, WrongTokenNamingANewParticipantEachTimeIsLimitedPerAddress) {
    BrokerInstance broker(sandboxes("spoof-", 3, 731000), limited_env());
    auto attacker = broker.client();
    for (int i = 0; i < kBurst; ++i) {
        const auto res =
            allocate_with_token(attacker, "not-the-token-0123456789", unique_participant("rotating"));
        EXPECT_EQ(res.status, 401) << i << " " << res.body;
    }
    for (int i = 0; i < kBurst; ++i) {
        expect_rate_limited(
            allocate_with_token(attacker, "not-the-token-0123456789", unique_participant("rotating")));
    }
    // Health, readiness and metrics stay exempt for the same address.
    EXPECT_EQ(attacker.get("/healthz").status, 200);
    EXPECT_EQ(attacker.get("/metrics").status, 200);
}

TEST(RateLimitSpoofedParticipant, AValidParticipantAtItsOwnLimitIsStillRefused) {
    BrokerInstance broker(sandboxes("spoof-", 3, 732000), limited_env());
    const std::string participant = unique_participant("eager");
    auto client = broker.client();
    EXPECT_EQ(allocate(client, participant).status, 201);
    for (int i = 1; i < kBurst; ++i) {
        const auto res = allocate(client, participant);
        EXPECT_EQ(res.status, 200) << i << " " << res.body;
        EXPECT_EQ(res.header("X-RateLimit-Remaining"), std::to_string(kBurst - 1 - i));
    }
    expect_rate_limited(allocate(client, participant));
    // Another participant from the same address has a bucket of its own.
    EXPECT_EQ(allocate(client, unique_participant("neighbour")).status, 201);
}

}  // namespace
}  // namespace broker::e2e
