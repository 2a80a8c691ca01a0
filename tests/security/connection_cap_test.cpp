// Threat: descriptor exhaustion. Thousands of idle connections used to take every file
// descriptor, after which new clients hung while the accept loop logged a failure every
// 50 ms. Defence: MAX_CONNECTIONS (http/server): one connection beyond it is answered 503
// with Retry-After and closed at once, and it is served again as soon as others close.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <vector>

#include "e2e/broker_fixture.hpp"
#include "security/raw_connection.hpp"

namespace broker::e2e {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr int kMaxConnections = 8;

TEST(ConnectionCap, BeyondMaxConnectionsNewClientsAreRefusedPromptlyAndServedOnceOthersClose) {
    Environment env = serving_env();
    env["MAX_CONNECTIONS"] = std::to_string(kMaxConnections);
    BrokerInstance broker(sandboxes("cap-", 5, 770000), env);
    const unsigned short port = broker.process().port();

    // Hold exactly the cap, each connection proven served (so the broker counts it open).
    std::vector<std::unique_ptr<HttpClient>> held;
    for (int i = 0; i < kMaxConnections; ++i) {
        held.push_back(std::make_unique<HttpClient>(broker.process().host(), port));
        ASSERT_EQ(held.back()->get("/healthz").status, 200) << "connection " << i;
    }

    // N more: each refused at once (well within a second), 503 with Retry-After, closed.
    for (int i = 0; i < 4; ++i) {
        const auto started = std::chrono::steady_clock::now();
        const RawExchange ex =
            raw_exchange(broker.process().host(), port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                         std::chrono::seconds(5));
        const auto took = std::chrono::steady_clock::now() - started;
        EXPECT_EQ(ex.answer.rfind("HTTP/1.1 503", 0), 0u) << ex.answer;
        EXPECT_NE(ex.answer.find("Retry-After: 1"), std::string::npos) << ex.answer;
        EXPECT_TRUE(ex.closed);
        // The bound is the 5 s wait above: a hang would use all of it.
        EXPECT_LT(took, std::chrono::seconds(4)) << "refusal " << i << " was not prompt";
    }
    // The held connections still work.
    EXPECT_EQ(held.front()->get("/healthz").status, 200);

    // Closing them makes room: a new client is served again.
    held.clear();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        HttpClient fresh(broker.process().host(), port);
        try {
            status = fresh.get("/healthz").status;
        } catch (const std::runtime_error&) {
            status = 0;
        }
        if (status == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status, 200) << "not served again after the held connections closed";
    auto client = broker.client();
    EXPECT_EQ(allocate(client, unique_participant("after-cap")).status, 201);
}

}  // namespace
}  // namespace broker::e2e
