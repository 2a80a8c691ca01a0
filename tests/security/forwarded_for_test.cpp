// Threat: dodging the per-client rate limit (or forging the client address in logs) by
// sending a different X-Forwarded-For with every request. Defence: http/client_key believes
// X-Forwarded-For only from a peer in TRUSTED_PROXIES; from anyone else the connection's
// own address is the client, whatever the header says.
#include <gtest/gtest.h>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

// 12 requests without a participant id (so the key is the client address), each claiming
// another address; how many were throttled.
int throttled_with_rotating_forwarded_for(const Environment& extra) {
    Environment env = serving_env();
    env["RATE_LIMIT_ENABLED"] = "true";
    env["RATE_LIMIT_RPS"] = "0.01";
    env["RATE_LIMIT_BURST"] = "3";
    for (const auto& [name, value] : extra) env[name] = value;
    BrokerInstance broker(sandboxes("xff-", 3, 792000), env);
    auto client = broker.client();
    int throttled = 0;
    for (int i = 0; i < 12; ++i) {
        const auto res =
            client.get("/v1/sandboxes/792000", {{"Authorization", "Bearer " + kApiToken},
                                                {"X-Forwarded-For", "198.51.100." + std::to_string(i)}});
        if (res.status == 429) ++throttled;
    }
    return throttled;
}

TEST(ForwardedFor, FromAnUntrustedPeerItIsIgnored) {
    EXPECT_GE(throttled_with_rotating_forwarded_for({}), 9) << "each forged address got a bucket of its own";
}

TEST(ForwardedFor, FromATrustedProxyItNamesTheClient) {
    // The control: behind a trusted proxy each address is a client of its own.
    EXPECT_EQ(throttled_with_rotating_forwarded_for({{"TRUSTED_PROXIES", "127.0.0.1"}}), 0);
}

}  // namespace
}  // namespace broker::e2e
