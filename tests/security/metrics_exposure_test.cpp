// Threat: /metrics open to anyone on the API's port: it tells the pool's size and the
// traffic, and a flood of scrapes (each renders every series) slowed allocations down
// (2.6 ms to 93 ms median). Defence: METRICS_LISTEN serves /metrics on a listener of its own
// (and no longer on the API's port), and METRICS_TOKEN requires a bearer token, compared in
// constant time, refusing others with a 401 before any work.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

const std::string kMetricsToken = "metrics-token-SECRET-5a8e21";

// A loopback port nobody listens on right now.
unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

TEST(MetricsExposure, WithATokenOnlyItsHolderScrapes) {
    Environment env = serving_env();
    env["METRICS_TOKEN"] = kMetricsToken;
    BrokerInstance broker(sandboxes("metrics-sec-", 3, 793000), env);
    auto client = broker.client();
    EXPECT_EQ(client.get("/metrics").status, 401);
    EXPECT_EQ(client.get("/metrics", {{"Authorization", "Bearer " + kApiToken}}).status, 401);
    EXPECT_EQ(client.get("/metrics", {{"Authorization", "Bearer " + kMetricsToken + "x"}}).status, 401);
    const auto scraped = client.get("/metrics", {{"Authorization", "Bearer " + kMetricsToken}});
    EXPECT_EQ(scraped.status, 200);
    EXPECT_NE(scraped.body.find("broker_allocate_total"), std::string::npos);
}

TEST(MetricsExposure, WithASeparateListenerTheApiPortHasNoMetrics) {
    Environment env = serving_env();
    const unsigned short port = free_port();
    env["METRICS_LISTEN"] = "127.0.0.1:" + std::to_string(port);
    BrokerInstance broker(sandboxes("metrics-sep-", 3, 794000), env);
    auto api = broker.client();
    EXPECT_EQ(api.get("/metrics").status, 404) << "not on the API's port";
    EXPECT_EQ(allocate(api, unique_participant("metrics")).status, 201);

    HttpClient metrics("127.0.0.1", port);
    const auto scraped = metrics.get("/metrics");
    EXPECT_EQ(scraped.status, 200);
    EXPECT_NE(scraped.body.find("broker_allocate_total{outcome=\"success\"} 1"), std::string::npos)
        << scraped.body.substr(0, 2000);
    EXPECT_EQ(metrics.post("/v1/allocate", participant_headers("x")).status, 404) << "only /metrics there";
}

}  // namespace
}  // namespace broker::e2e
